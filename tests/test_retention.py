"""Retention: old exchanges deleted in batches in the background, kept chats spared; erasing a person."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app import create_app
from app.storage import conversations, exchanges, history
from app.storage.dialects import TIME_FORMAT
from app.storage.history import Search
from app.storage.retention import sweep
from tests.test_accounts import csrf_of, person
from tests.test_quotas import people
from tests.waiting import until


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime(TIME_FORMAT)


async def chat_with(db, owner: str, title: str, ages: list[float]) -> int:
    chat = await conversations.create(db, owner, title, now=days_ago(max(ages)))
    for number, age in enumerate(ages):
        exchange = await exchanges.create(db, chat, owner, f"{title} question {number} about walruses")
        await db.execute(
            "UPDATE exchanges SET created_at = :at WHERE id = :id",
            {"at": days_ago(age), "id": exchange["id"]},
        )
    await db.execute(
        "UPDATE conversations SET updated_at = :at WHERE id = :id", {"at": days_ago(min(ages)), "id": chat}
    )
    return chat


async def test_a_sweep_deletes_old_exchanges_in_batches_but_not_kept_chats(db, caplog):
    caplog.set_level(logging.INFO)
    old = await chat_with(db, "someone", "old", [40, 39, 38, 37, 36])
    mixed = await chat_with(db, "someone", "mixed", [50, 45, 1])
    kept = await chat_with(db, "someone", "kept", [90, 80])
    await db.execute("UPDATE conversations SET keep = 1 WHERE id = :id", {"id": kept})
    swept = await sweep(db, days=30, batch=2)
    assert (swept.exchanges, swept.conversations) == (7, 1)
    assert "retention: deleted 7 exchanges and 1 chats older than 30 days" in caplog.text
    left = await db.fetch_all("SELECT conversation_id, question FROM exchanges ORDER BY id")
    assert [row["conversation_id"] for row in left] == [mixed, kept, kept]
    assert await conversations.get(db, old, "someone") is None
    # The search index forgot them too.
    found = await history.page(db, "someone", Search(query="walruses"), None, 50)
    assert sorted(row["conversation_title"] for row in found) == ["kept", "kept", "mixed"]
    assert (await sweep(db, days=30)).exchanges == 0


async def test_the_app_sweeps_in_the_background_when_retention_days_is_set(config, db):
    await chat_with(db, "someone", "ancient", [400, 399])
    await chat_with(db, "someone", "recent", [2])
    app = create_app(replace(config, retention_days=365))

    async def swept() -> bool:
        return len(await db.fetch_all("SELECT id FROM exchanges")) == 1

    async with app.test_app():
        await until(swept, "the old chat swept")
    assert [row["question"] for row in await db.fetch_all("SELECT question FROM exchanges")] == [
        "recent question 0 about walruses"
    ]


@pytest.mark.settings(retention_days=30)
async def test_a_person_keeps_a_chat_from_the_sidebar(visitor, db):
    await visitor.ask("a chat to keep")
    chat = (await db.fetch_one("SELECT id FROM conversations"))["id"]
    sidebar = await (await visitor.client.get("/conversations")).get_data(as_text=True)
    assert "Keep forever" in sidebar
    kept = await visitor.client.post(
        f"/c/{chat}/keep", form={"keep": "1", "csrf_token": visitor.csrf}, headers={"HX-Request": "true"}
    )
    assert kept.status_code == 200 and "Stop keeping" in await kept.get_data(as_text=True)
    assert (await db.fetch_one("SELECT keep FROM conversations"))["keep"] == 1
    stranger = visitor.client.app.test_client()
    token = await csrf_of(stranger, "/")
    refused = await stranger.post(f"/c/{chat}/keep", form={"keep": "0", "csrf_token": token})
    assert refused.status_code == 404
    assert (await db.fetch_one("SELECT keep FROM conversations"))["keep"] == 1


@pytest.mark.settings(**{**people, "sign_up": "invite"})
async def test_an_admin_erases_everything_of_a_person_after_confirming(app, db):
    from tests.test_accounts import sign_up

    admin = app.test_client()
    await sign_up(admin, "ada")
    bob = await person(app, admin, "bob")
    token = await csrf_of(bob, "/")
    await bob.post("/ask", form={"question": "bob's secret", "csrf_token": token})
    bob_id = (await db.fetch_one("SELECT id FROM users WHERE username = 'bob'"))["id"]
    token = await csrf_of(admin, "/admin/users")
    asking = await admin.post(f"/admin/users/{bob_id}/erase", form={"csrf_token": token})
    assert "Erase everything of bob?" in await asking.get_data(as_text=True)
    assert await db.fetch_one("SELECT id FROM exchanges") is not None
    done = await admin.post(f"/admin/users/{bob_id}/erase", form={"csrf_token": token, "confirmed": "yes"})
    assert done.status_code == 303
    assert await db.fetch_one("SELECT id FROM exchanges") is None
    assert await db.fetch_one("SELECT id FROM users WHERE username = 'bob'") is None
    assert (await bob.get("/")).status_code == 302
    assert "erased" in await (await admin.get("/admin/audit")).get_data(as_text=True)
