"""The usage ledger: spending stays counted after deletion; stopped answers count; deleted chats hide."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from app.model import tokens
from app.storage import conversations, exchanges, migrate, open_database
from app.storage.dialects import utc_in
from app.storage.migrations import MIGRATIONS
from tests.conftest import Visitor, parse_events
from tests.test_accounts import csrf_of, person, sign_up
from tests.test_answer_controls import settled
from tests.test_quotas import EXCHANGE_ID, asked, people, signed_in

TOTALS = re.compile(r"<dt>(Questions|Tokens)</dt><dd>([^<]*)</dd>")
HTMX = {"HX-Request": "true"}


async def asked_in(visitor: Visitor, question: str, chat: int) -> int:
    response = await visitor.ask(question, chat)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))


def totals(page: str) -> dict[str, str]:
    """The usage page's totals of questions and tokens, as shown."""
    return dict(TOTALS.findall(page))


async def usage(visitor: Visitor) -> dict[str, str]:
    return totals(await (await visitor.client.get("/usage")).get_data(as_text=True))


async def delete_chat(visitor: Visitor, chat: int) -> None:
    response = await visitor.client.post(
        f"/c/{chat}/delete", form={"csrf_token": visitor.csrf, "back": "/"}, headers=HTMX
    )
    assert response.status_code == 200, await response.get_data(as_text=True)


async def chat_of(db, exchange_id: int) -> int:
    found = await db.fetch_one("SELECT conversation_id FROM exchanges WHERE id = :id", {"id": exchange_id})
    return found["conversation_id"]


async def admin_and_bob(app, question: str):
    """Ada, the admin (her client), and Bob, invited, whose question is answered: his browser and its id."""
    admin = app.test_client()
    await sign_up(admin, "ada")
    bob = Visitor(await person(app, admin, "bob"))
    await bob.open("/")
    exchange_id = await asked(bob, question)
    await bob.stream(exchange_id)
    return admin, bob, exchange_id


async def ledger_line(db, exchange_id: int) -> dict:
    return await db.fetch_one("SELECT * FROM usage_ledger WHERE exchange_id = :id", {"id": exchange_id})


@pytest.mark.settings(**people, tokens_per_day=50)
async def test_deleting_chats_gives_back_no_tokens_and_leaves_usage_as_it_was(app, db, model):
    ada = await signed_in(app, "ada")
    first = await asked(ada, "first")
    await ada.stream(first)  # the fake model spends 39 tokens on it
    second = await asked(ada, "second")
    await ada.stream(second)
    assert (await ada.ask("over the quota")).status_code == 429
    before = await usage(ada)
    assert before == {"Questions": "2", "Tokens": "78"}

    await delete_chat(ada, await chat_of(db, first))
    await delete_chat(ada, await chat_of(db, second))

    refused = await ada.ask("asked again once the chats are gone")
    assert refused.status_code == 429
    assert "used today&#39;s 50 tokens" in await refused.get_data(as_text=True)
    assert await usage(ada) == before
    spent = await db.fetch_one(
        "SELECT SUM(prompt_tokens) AS p, SUM(completion_tokens) AS c FROM usage_ledger"
    )
    download = await (await ada.client.get("/usage.csv")).get_data(as_text=True)
    assert f"fake-model,2,{spent['p']},{spent['c']},,0" in download.replace("\r", "")


@pytest.mark.settings(**people, tokens_per_day=40)
async def test_a_stopped_answer_is_counted_by_estimate_and_does_not_pass_the_quota(app, client, db, model):
    model.configure(tokens=300, delay=0.02)
    ada = await signed_in(app, "ada")
    exchange_id = await asked(ada, "talk for a long time")
    async with ada.client.request(f"/answers/{exchange_id}/stream") as connection:
        await connection.send_complete()
        received = b""
        while received.count(b"event: delta") < 3:
            received += await connection.receive()
        stop = await ada.client.post(
            f"/answers/{exchange_id}/stop", headers={**HTMX, "X-CSRF-Token": ada.csrf}
        )
        assert stop.status_code == 204
        while b"event: done" not in received:
            received += await connection.receive()
    row = await settled(db, exchange_id)
    refused = await ada.ask("a stopped answer is not free")
    assert refused.status_code == 429
    # The answer ends on screen with its count marked as an estimate.
    assert "tokens</span>" in (final := dict(parse_events(received.decode()))["final"]) and "≈ " in final
    assert row["status"] == "stopped" and row["tokens_estimated"] == 1
    # The fake model's name is not OpenAI's: about one token per four characters.
    assert row["completion_tokens"] == -(-len(row["answer"]) // 4) > 0
    assert row["prompt_tokens"] > len("talk for a long time") // 4
    line = await ledger_line(db, exchange_id)
    assert (line["prompt_tokens"], line["completion_tokens"], line["estimated"]) == (
        row["prompt_tokens"],
        row["completion_tokens"],
        1,
    )

    spent = row["prompt_tokens"] + row["completion_tokens"]
    assert await usage(ada) == {"Questions": "1", "Tokens": f"≈ {spent:,}"}
    assert "≈ marks counts" in await (await ada.client.get("/usage")).get_data(as_text=True)
    listed = await (await ada.client.get("/list")).get_data(as_text=True)
    assert f"≈ {row['prompt_tokens']:,} → {row['completion_tokens']:,} tokens" in listed


async def test_an_answer_whose_process_died_is_counted_by_estimate(visitor, app, db):
    async with visitor.client.session_transaction() as session:
        owner = session["owner"]
    chat = await conversations.create(db, owner, "a chat")
    exchange_id = (await exchanges.create(db, chat, owner, "asked of a process that died"))["id"]
    assert await exchanges.claim(db, exchange_id, "a-process-that-died", utc_in(15))
    assert await exchanges.renew(db, exchange_id, "a-process-that-died", utc_in(-0.1), "The first words")
    sweeper = app.extensions["answers"].sweeper
    await sweeper.sweep()
    await sweeper.sweep()
    row = await db.fetch_one("SELECT * FROM exchanges WHERE id = :id", {"id": exchange_id})
    assert row["status"] == "interrupted" and row["tokens_estimated"] == 1
    assert row["completion_tokens"] == -(-len("The first words") // 4)
    line = await ledger_line(db, exchange_id)
    assert (line["status"], line["completion_tokens"], line["estimated"]) == (
        "interrupted",
        row["completion_tokens"],
        1,
    )


@pytest.mark.settings(**{**people, "sign_up": "invite"})
async def test_a_deleted_chat_is_hidden_from_its_owner_and_kept_marked_for_the_operator(app, db):
    admin, bob, exchange_id = await admin_and_bob(app, "where do walruses sleep?")
    chat = await chat_of(db, exchange_id)
    await bob.client.post(f"/c/{chat}/share", form={"csrf_token": bob.csrf})
    token = (await db.fetch_one("SELECT token FROM shares"))["token"]
    assert (await bob.client.get(f"/s/{token}")).status_code == 200
    asking = await bob.client.post(f"/c/{chat}/delete", form={"csrf_token": bob.csrf})
    assert "The operator keeps a copy, marked as deleted by you" in await asking.get_data(as_text=True)

    await delete_chat(bob, chat)

    assert f"/c/{chat}" not in await bob.open("/")
    for path in (
        f"/c/{chat}",
        f"/answers/{exchange_id}/markdown",
        f"/c/{chat}/export.md",
        f"/c/{chat}/share",
        f"/s/{token}",
    ):
        assert (await bob.client.get(path)).status_code == 404, path
    for path in ("/list", "/list?q=walruses", "/list/export.csv", "/list/export.ndjson"):
        shown = await (await bob.client.get(path)).get_data(as_text=True)
        assert "where do walruses sleep" not in shown, path
    asked_in = await bob.ask("one more in it", chat)
    assert asked_in.status_code == 404
    kept = await bob.client.post(f"/c/{chat}/keep", form={"keep": "1", "csrf_token": bob.csrf})
    assert kept.status_code == 404

    everyone = await (await admin.get("/list")).get_data(as_text=True)
    assert "where do walruses sleep?" in everyone and "deleted by its owner" in everyone
    exported = (await (await admin.get("/list/export.ndjson")).get_data(as_text=True)).splitlines()
    assert json.loads(exported[0])["deleted_by_owner_at"].startswith("20")
    assert await db.fetch_one("SELECT id FROM exchanges WHERE id = :id", {"id": exchange_id}) is not None


@pytest.mark.settings(**people)
async def test_deleting_one_exchange_hides_it_and_keeps_what_it_spent(app, db, model):
    ada = await signed_in(app, "ada")
    first = await asked(ada, "the first question about otters")
    await ada.stream(first)
    chat = await chat_of(db, first)
    second = await asked_in(ada, "the second question", chat)
    await ada.stream(second)
    before = await usage(ada)
    deleted = await ada.client.post(
        f"/list/exchanges/{first}/delete", form={"csrf_token": ada.csrf}, headers=HTMX
    )
    assert deleted.status_code == 200
    page = await ada.open(f"/c/{chat}")
    assert f'id="answer-{second}"' in page and f'id="answer-{first}"' not in page
    # Ada is the admin: her history shows everyone's rows, hers deleted among them, marked.
    listed = await (await ada.client.get("/list")).get_data(as_text=True)
    assert "otters" in listed and "deleted by its owner" in listed
    assert await usage(ada) == before
    # What follows it now follows what it followed: the model is not sent a deleted exchange.
    third = await asked_in(ada, "the third question", chat)
    await ada.stream(third)
    sent = str(model.requests[-1]["messages"])
    assert "the second question" in sent and "otters" not in sent


@pytest.mark.settings(**people, delete_erases=True)
async def test_delete_erases_at_once_when_the_operator_says_so_and_usage_stays(app, db):
    ada = await signed_in(app, "ada")
    exchange_id = await asked(ada, "erase me at once")
    await ada.stream(exchange_id)
    before = await usage(ada)
    chat = await chat_of(db, exchange_id)
    asking = await ada.client.post(f"/c/{chat}/delete", form={"csrf_token": ada.csrf})
    assert "will be gone for good" in await asking.get_data(as_text=True)
    await delete_chat(ada, chat)
    assert await db.fetch_one("SELECT id FROM exchanges") is None
    assert await db.fetch_one("SELECT id FROM conversations") is None
    assert await usage(ada) == before and before["Questions"] == "1" and before["Tokens"] != "0"


@pytest.mark.settings(**{**people, "sign_up": "invite"})
async def test_erasing_a_person_keeps_their_usage_without_their_name(app, db):
    admin, _, _ = await admin_and_bob(app, "bob's question")
    bob_user = await db.fetch_one("SELECT id, owner FROM users WHERE username = 'bob'")
    everyone = Visitor(admin)
    before = await usage(everyone)
    token = await csrf_of(admin, "/admin/users")
    done = await admin.post(
        f"/admin/users/{bob_user['id']}/erase", form={"csrf_token": token, "confirmed": "yes"}
    )
    assert done.status_code == 303
    assert await db.fetch_one("SELECT id FROM exchanges") is None
    lines = await db.fetch_all("SELECT owner FROM usage_ledger")
    assert [line["owner"] for line in lines] == ["erased"]
    after = await (await admin.get("/usage")).get_data(as_text=True)
    assert totals(after) == before and before["Questions"] == "1" and before["Tokens"] != "0"
    assert ">erased people</text>" in after


async def test_the_upgrade_moves_the_usage_of_stored_exchanges_into_the_ledger(database_url, request):
    # An empty database, not the migrated template the tests start from.
    if database_url.startswith("mysql://"):
        request.getfixturevalue("mysql").drop_tables()
    else:
        Path(database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    db = open_database(database_url)
    await db.open()
    try:
        steps = list(MIGRATIONS)
        MIGRATIONS[:] = [step for step in steps if step[0] < "m040"]
        try:
            await migrate(db)
        finally:
            MIGRATIONS[:] = steps
        chat = await db.execute(
            "INSERT INTO conversations (owner, title, created_at, updated_at) VALUES ('o', 't', :t, :t)",
            {"t": "2026-03-04 05:06:07.000000"},
        )
        await db.execute(
            "INSERT INTO exchanges (conversation_id, owner, question, status, model, server, prompt_tokens,"
            " completion_tokens, latency_ms, created_at) VALUES (:chat, 'o', 'q', 'done', 'm', 's', 12, 30,"
            " 800, :t)",
            {"chat": chat.lastrowid, "t": "2026-03-04 05:06:07.000000"},
        )
        assert "m040_usage_ledger" in await migrate(db)
        line = await db.fetch_one(
            "SELECT owner, day, model, server, status, prompt_tokens, completion_tokens, estimated,"
            " latency_ms FROM usage_ledger"
        )
        assert line == {
            "owner": "o",
            "day": "2026-03-04",
            "model": "m",
            "server": "s",
            "status": "done",
            "prompt_tokens": 12,
            "completion_tokens": 30,
            "estimated": 0,
            "latency_ms": 800,
        }
    finally:
        await db.close()


def test_openai_models_are_counted_by_tiktoken_from_installed_files_only(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the tokenizer tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(tokens, "_encoding", None)
    monkeypatch.setattr(tokens, "_unavailable", False)
    # tiktoken's own example: cl100k_base reads it as six tokens.
    assert tokens.count("tiktoken is great!", "gpt-4o-mini") == 6
    assert tokens.count("tiktoken is great!", "a-local-llama") == 5
    sent = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert tokens.prompt(sent, "gpt-4") == (3 + 3) + (1 + 3) + 3


def test_a_tokenizer_that_cannot_load_falls_back_to_the_estimate(monkeypatch):
    monkeypatch.setattr(tokens, "_encoding", None)
    monkeypatch.setattr(tokens, "_unavailable", False)
    monkeypatch.setattr(tokens, "ENCODING", "not-installed")
    assert tokens.count("tiktoken is great!", "gpt-4o-mini") == 5
