"""Retention reaches shared copies and titles: what it sweeps from a chat is gone from every link to it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.storage import conversations, exchanges
from app.storage.dialects import TIME_FORMAT
from app.storage.retention import sweep
from tests.conftest import Visitor

LINK = re.compile(r'value="http://[^/]+(/s/[A-Za-z0-9_-]{32})"')
BUBBLE = re.compile(r'<div class="bubble">([^<]*)</div>')
TITLE = re.compile(r"<h1>([^<]*)</h1>")


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime(TIME_FORMAT)


async def chat_asked(
    visitor: Visitor, db, questions: list[tuple[str, float]], title: str | None = None
) -> int:
    """A chat of finished exchanges asked so many days ago, titled after its first question."""
    async with visitor.client.session_transaction() as session:
        owner = session["owner"]
    first = questions[0][0]
    chat = await conversations.create(db, owner, title or conversations.title_from(first), now=days_ago(50))
    for question, age in questions:
        exchange = await exchanges.create(db, chat, owner, question)
        await db.execute(
            "UPDATE exchanges SET status = 'done', answer = :answer, created_at = :at WHERE id = :id",
            {"answer": f"Answer to {question}", "at": days_ago(age), "id": exchange["id"]},
        )
    return chat


async def link_to(visitor: Visitor, chat: int) -> str:
    made = await visitor.client.post(f"/c/{chat}/share", form={"csrf_token": visitor.csrf})
    assert made.status_code == 303
    return LINK.findall(await visitor.open(f"/c/{chat}/share"))[0]


async def test_swept_exchanges_leave_shared_copies_and_the_titles_taken_from_them(visitor, db):
    chat = await chat_asked(
        visitor,
        db,
        [("My salary is 90k, plan my budget", 40), ("And the rent?", 35), ("Groceries next week?", 1)],
    )
    link = await link_to(visitor, chat)
    before = await (await visitor.client.get(link)).get_data(as_text=True)
    assert BUBBLE.findall(before)[0] == "My salary is 90k, plan my budget"

    swept = await sweep(db, days=30)
    assert swept.exchanges == 2
    shared = await (await visitor.client.get(link)).get_data(as_text=True)
    assert BUBBLE.findall(shared) == ["Groceries next week?"]
    assert "salary" not in shared and "rent" not in shared
    assert TITLE.findall(shared) == ["Groceries next week?"]
    assert (
        await conversations.get(db, chat, (await db.fetch_one("SELECT owner FROM conversations"))["owner"])
    )["title"] == "Groceries next week?"
    sidebar = await visitor.open("/")
    assert "salary" not in sidebar and "Groceries next week?" in sidebar
    rows = await db.fetch_all("SELECT question FROM shared_exchanges")
    assert [row["question"] for row in rows] == ["Groceries next week?"]


async def test_a_copy_left_empty_by_the_sweep_is_gone_and_a_kept_chat_keeps_its_copies(visitor, db):
    old = await chat_asked(visitor, db, [("Old news only", 40)])
    kept = await chat_asked(visitor, db, [("Kept forever question", 40)])
    await db.execute("UPDATE conversations SET keep = 1 WHERE id = :id", {"id": kept})
    # Touched lately, so the chat itself stays while its last exchange goes.
    await db.execute(
        "UPDATE conversations SET updated_at = :at WHERE id = :id", {"at": days_ago(1), "id": old}
    )
    old_link, kept_link = await link_to(visitor, old), await link_to(visitor, kept)
    await sweep(db, days=30)
    gone = await visitor.client.get(old_link)
    assert gone.status_code == 404 and "Old news" not in await gone.get_data(as_text=True)
    owner = (await db.fetch_one("SELECT owner FROM conversations WHERE id = :id", {"id": old}))["owner"]
    assert (await conversations.get(db, old, owner))["title"] == ""
    still = await (await visitor.client.get(kept_link)).get_data(as_text=True)
    assert BUBBLE.findall(still) == ["Kept forever question"] and TITLE.findall(still) == [
        "Kept forever question"
    ]


async def test_a_title_the_person_chose_stays(visitor, db):
    chat = await chat_asked(
        visitor, db, [("A private first question", 40), ("A newer one", 1)], title="Budget"
    )
    link = await link_to(visitor, chat)
    await sweep(db, days=30)
    shared = await (await visitor.client.get(link)).get_data(as_text=True)
    assert TITLE.findall(shared) == ["Budget"] and BUBBLE.findall(shared) == ["A newer one"]
    assert (await db.fetch_one("SELECT title FROM conversations"))["title"] == "Budget"
