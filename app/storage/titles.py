"""Titles made from questions: when retention sweeps the question a title came from, the title goes too."""

from __future__ import annotations

from . import shares
from .base import Executor, one_of_these
from .conversations import title_from


async def made_from(db: Executor, exchange_ids: list[int]) -> dict[int, set[str]]:
    """The titles these exchanges' questions would give, by chat."""
    ids, params = one_of_these("id", exchange_ids)
    rows = await db.fetch_all(f"SELECT conversation_id, question FROM exchanges WHERE id IN {ids}", params)
    titles: dict[int, set[str]] = {}
    for row in rows:
        titles.setdefault(row["conversation_id"], set()).add(title_from(row["question"]))
    return titles


async def replace_swept(db: Executor, swept: dict[int, set[str]], cutoff: str) -> None:
    """Chats (and their shared copies) titled after a swept question take their next question's title.

    A title the person typed stays, unless it is word for word what a swept question gave.
    """
    for chat, titles in swept.items():
        found = await db.fetch_one("SELECT title FROM conversations WHERE id = :id", {"id": chat})
        if found is not None and found["title"] and found["title"] in titles:
            # The first question retention leaves, not one it is about to sweep.
            first = await db.fetch_one(
                "SELECT question FROM exchanges WHERE conversation_id = :id AND created_at >= :cutoff"
                " ORDER BY created_at, id LIMIT 1",
                {"id": chat, "cutoff": cutoff},
            )
            await db.execute(
                "UPDATE conversations SET title = :title WHERE id = :id",
                {"title": title_from(first["question"]) if first else "", "id": chat},
            )
        await shares.retitle(db, await shares.of_chat(db, chat), titles, cutoff)
