"""Shared links cost bounded rows and bytes: caps per chat and per person, a rate, one copy per state."""

from __future__ import annotations

import asyncio
import re

import orjson
import pytest
from markupsafe import escape

from app import messages
from app.config import Rate
from app.storage import conversations, exchanges, migrate, shares
from tests.conftest import Visitor
from tests.test_users_migration import migrated_before

LINK = re.compile(r'value="http://[^/]+(/s/[A-Za-z0-9_-]{32})"')
LONG_ANSWER = "A long answer about walruses. " * 500


async def chat_of(visitor: Visitor, db, count: int, title: str = "Walruses") -> int:
    """A chat of `count` long, finished exchanges, owned by the visitor."""
    async with visitor.client.session_transaction() as session:
        owner = session["owner"]
    chat = await conversations.create(db, owner, title)
    for number in range(count):
        exchange = await exchanges.create(db, chat, owner, f"Question {number} about walruses?")
        await db.execute(
            "UPDATE exchanges SET status = 'done', answer = :answer, model = 'fake-model' WHERE id = :id",
            {"answer": f"{number}: {LONG_ANSWER}", "id": exchange["id"]},
        )
    return chat


async def post_share(visitor: Visitor, chat: int):
    return await visitor.client.post(f"/c/{chat}/share", form={"csrf_token": visitor.csrf})


async def count(db, table: str) -> int:
    return (await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}"))["n"]


@pytest.mark.settings(share_rate=Rate(1000, 60))
async def test_three_hundred_shares_of_one_chat_keep_a_few_links_and_one_copy(visitor, db):
    chat = await chat_of(visitor, db, 30)
    chat_bytes = (await db.fetch_one("SELECT SUM(LENGTH(question) + LENGTH(answer)) AS n FROM exchanges"))[
        "n"
    ]
    responses = []
    for _ in range(10):
        responses += await asyncio.gather(*(post_share(visitor, chat) for _ in range(30)))
    statuses = [response.status_code for response in responses]
    assert statuses.count(303) == 10 and statuses.count(409) == 290
    refusal = await responses[statuses.index(409)].get_data(as_text=True)
    assert escape(messages.share_links_per_chat(10)) in refusal and "Stop sharing" in refusal
    assert await count(db, "shares") == 10
    assert await count(db, "share_snapshots") == 1 and await count(db, "shared_exchanges") == 30
    copied = await db.fetch_one("SELECT SUM(LENGTH(question) + LENGTH(answer)) AS n FROM shared_exchanges")
    assert copied["n"] == chat_bytes
    page = await visitor.open(f"/c/{chat}/share")
    assert len(LINK.findall(page)) == 10 and page.count("30 exchanges") == 10


async def test_making_links_is_rate_limited_with_a_clear_refusal(visitor, db):
    chat = await chat_of(visitor, db, 1)
    for _ in range(10):
        assert (await post_share(visitor, chat)).status_code == 303
    refused = await post_share(visitor, chat)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    text = await refused.get_data(as_text=True)
    assert "You are making links faster than this app allows. Wait " in text
    assert await count(db, "shares") == 10


@pytest.mark.settings(share_links_per_person=3)
async def test_a_person_has_a_few_open_links_across_their_chats(visitor, db):
    chats = [await chat_of(visitor, db, 1, f"Chat {number}") for number in range(4)]
    for chat in chats[:3]:
        assert (await post_share(visitor, chat)).status_code == 303
    refused = await post_share(visitor, chats[3])
    assert refused.status_code == 409
    assert escape(messages.share_links_per_person(3)) in await refused.get_data(as_text=True)
    # Stopping one makes room for another.
    link = LINK.findall(await visitor.open(f"/c/{chats[0]}/share"))[0]
    assert (await visitor.client.post(link + "/revoke", form={"csrf_token": visitor.csrf})).status_code == 303
    assert (await post_share(visitor, chats[3])).status_code == 303


async def test_links_to_one_state_share_a_copy_and_the_copy_goes_with_its_last_link(visitor, db):
    chat = await chat_of(visitor, db, 2)
    for _ in range(2):
        assert (await post_share(visitor, chat)).status_code == 303
    assert await count(db, "share_snapshots") == 1
    first_two = LINK.findall(await visitor.open(f"/c/{chat}/share"))
    async with visitor.client.session_transaction() as session:
        owner = session["owner"]
    later = await exchanges.create(db, chat, owner, "A later question?")
    await db.execute(
        "UPDATE exchanges SET status = 'done', answer = 'Later.' WHERE id = :id", {"id": later["id"]}
    )
    assert (await post_share(visitor, chat)).status_code == 303
    assert await count(db, "share_snapshots") == 2
    newest = LINK.findall(await visitor.open(f"/c/{chat}/share"))[0]
    assert "A later question?" in await (await visitor.client.get(newest)).get_data(as_text=True)
    for link in first_two:
        assert "A later question?" not in await (await visitor.client.get(link)).get_data(as_text=True)
        await visitor.client.post(link + "/revoke", form={"csrf_token": visitor.csrf})
        assert (await visitor.client.get(link)).status_code == 404
    assert await count(db, "share_snapshots") == 1 and await count(db, "shared_exchanges") == 3


async def test_links_made_before_copies_were_shared_keep_opening_the_same_copy(
    database_url, request, monkeypatch
):
    async with migrated_before(database_url, request, monkeypatch, "m045") as db:
        at = "2026-01-01 10:00:00.000000"
        chat = await db.execute(
            "INSERT INTO conversations (owner, title, created_at, updated_at) VALUES ('me', 'Old', :t, :t)",
            {"t": at},
        )
        copy = orjson.dumps(
            [
                {
                    "question": "Old question?",
                    "answer": "Old answer.",
                    "status": "done",
                    "model": "m",
                    "server": None,
                    "created_at": at,
                    "answered_at": "2026-01-01 10:00:01",
                }
            ]
        ).decode()
        for token, revoked in (("a" * 32, None), ("b" * 32, None), ("c" * 32, at)):
            await db.execute(
                "INSERT INTO shares (token, conversation_id, owner, title, snapshot, created_at, revoked_at)"
                " VALUES (:token, :chat, 'me', 'Old', :copy, :t, :revoked)",
                {"token": token, "chat": chat.lastrowid, "copy": copy, "t": at, "revoked": revoked},
            )
        assert {"m045_share_snapshots", "m046_shares_into_snapshots"} <= set(await migrate(db))
        links = await db.fetch_all("SELECT token, snapshot_id, audience FROM shares ORDER BY token")
        assert [link["token"][0] for link in links] == ["a", "b"]
        assert links[0]["snapshot_id"] == links[1]["snapshot_id"] and links[0]["audience"] == "teammates"
        found = await shares.get(db, "a" * 32)
        assert found["title"] == "Old"
        held = await shares.exchanges_of(db, found["snapshot_id"])
        assert [(row["question"], row["answer"], row["status"]) for row in held] == [
            ("Old question?", "Old answer.", "done")
        ]
        assert str(held[0]["answered_at"]).startswith("2026-01-01 10:00:01")
