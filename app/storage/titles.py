"""Titles made from questions: when retention sweeps the question a title came from, the title goes too."""

from __future__ import annotations

from .base import Executor, one_of_these
from .conversations import title_from

# The first question a chat or a shared copy keeps from `cutoff` on: the one its new title comes from.
_FIRST_LEFT = {
    "conversations": "SELECT question FROM exchanges"
    " WHERE conversation_id = :id AND created_at >= :cutoff ORDER BY created_at, id LIMIT 1",
    "share_snapshots": "SELECT question FROM shared_exchanges"
    " WHERE snapshot_id = :id AND created_at >= :cutoff ORDER BY seq LIMIT 1",
}


async def made_from(db: Executor, exchange_ids: list[int]) -> dict[int, set[str]]:
    """The titles these exchanges' questions would give, by chat."""
    ids, params = one_of_these("id", exchange_ids)
    rows = await db.fetch_all(f"SELECT conversation_id, question FROM exchanges WHERE id IN {ids}", params)
    titles: dict[int, set[str]] = {}
    for row in rows:
        titles.setdefault(row["conversation_id"], set()).add(title_from(row["question"]))
    return titles


async def replace_swept(db: Executor, swept: dict[int, set[str]], cutoff: str) -> None:
    """Chats, and their shared copies, titled after a swept question take their next question's title.

    A title the person typed stays, unless it is word for word what a swept question gave.
    """
    for chat, titles in swept.items():
        await replace(db, "conversations", chat, titles, cutoff)
        copies = await db.fetch_all(
            "SELECT id FROM share_snapshots WHERE conversation_id = :id", {"id": chat}
        )
        for copy in copies:
            if await replace(db, "share_snapshots", copy["id"], titles, cutoff):
                # Retitled, a copy no longer matches the state it was made of.
                await db.execute("UPDATE share_snapshots SET hash = NULL WHERE id = :id", {"id": copy["id"]})


async def replace(db: Executor, table: str, row_id: int, swept: set[str], cutoff: str) -> bool:
    """Give a chat or a copy titled after a swept question the title of its first question left (or none)."""
    found = await db.fetch_one(f"SELECT title FROM {table} WHERE id = :id", {"id": row_id})
    if found is None or not found["title"] or found["title"] not in swept:
        return False
    first = await db.fetch_one(_FIRST_LEFT[table], {"id": row_id, "cutoff": cutoff})
    await db.execute(
        f"UPDATE {table} SET title = :title WHERE id = :id",
        {"title": title_from(first["question"]) if first else "", "id": row_id},
    )
    return True
