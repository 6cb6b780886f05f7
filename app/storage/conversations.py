"""Queries on conversations: a titled thread of exchanges belonging to one owner."""

from __future__ import annotations

from .base import Executor, Row
from .dialects import utcnow
from .exchanges import one_of, request_live_stop
from .status import LIVE

TITLE_CHARS = 80


def title_from(question: str) -> str:
    """Make a conversation title from its first question, without asking the model."""
    words = " ".join(question.split())
    if len(words) <= TITLE_CHARS:
        return words
    cut = words[:TITLE_CHARS].rsplit(" ", 1)[0] or words[:TITLE_CHARS]
    return cut + "…"


async def create(
    db: Executor,
    owner: str,
    title: str,
    now: str | None = None,
    model: str | None = None,
    server: str | None = None,
    api: bool = False,
) -> int:
    """Start a conversation (created and updated `now`, by default the current time) and return its id.

    An API call's conversation (`api`) stays out of the sidebar.
    """
    now = now or utcnow()
    result = await db.execute(
        "INSERT INTO conversations (owner, title, created_at, updated_at, model, server, api)"
        " VALUES (:owner, :title, :now, :now, :model, :server, :api)",
        {"owner": owner, "title": title, "now": now, "model": model, "server": server, "api": int(api)},
    )
    assert result.lastrowid is not None
    return result.lastrowid


def stored(
    conversation_id: int,
    owner: str,
    title: str,
    now: str,
    model: str | None = None,
    server: str | None = None,
) -> Row:
    """The row `create` stored, as `get` returns it, without reading it back."""
    return {
        "id": conversation_id,
        "owner": owner,
        "title": title,
        "created_at": now,
        "updated_at": now,
        "keep": 0,
        "model": model,
        "server": server,
        "instructions": None,
        "temperature": None,
        "folder_id": None,
        "pinned_at": None,
    }


async def get(db: Executor, conversation_id: int, owner: str) -> Row | None:
    """Return the owner's conversation, or None if it is not theirs, does not exist, or they deleted it."""
    return await db.fetch_one(
        "SELECT id, owner, title, created_at, updated_at, keep, model, server, instructions, temperature,"
        " folder_id, pinned_at FROM conversations"
        " WHERE id = :id AND owner = :owner AND deleted_at IS NULL",
        {"id": conversation_id, "owner": owner},
    )


async def asked_in(db: Executor, conversation_id: int, owner: str, after: int | None) -> Row | None:
    """The owner's conversation as a question is asked in it, in one statement (None if not theirs).

    Besides its columns: `live_id`, its answer still pending or being written;
    `last_id`, its newest exchange; `after_here`, whether the exchange `after` is one of its own.
    """
    live, params = one_of("live", LIVE)
    return await db.fetch_one(
        "SELECT c.id, c.owner, c.title, c.created_at, c.updated_at, c.keep, c.model, c.server,"
        " c.instructions, c.temperature, c.folder_id, c.pinned_at,"
        f" (SELECT e.id FROM exchanges e WHERE e.conversation_id = c.id AND e.status IN {live} LIMIT 1)"
        " AS live_id,"
        " (SELECT e.id FROM exchanges e WHERE e.conversation_id = c.id AND e.deleted_at IS NULL"
        " ORDER BY e.id DESC LIMIT 1) AS last_id,"
        " (SELECT COUNT(*) FROM exchanges e WHERE e.id = :after AND e.conversation_id = c.id"
        " AND e.deleted_at IS NULL) AS after_here"
        " FROM conversations c WHERE c.id = :id AND c.owner = :owner AND c.deleted_at IS NULL",
        {"id": conversation_id, "owner": owner, "after": after, **params},
    )


async def touch(db: Executor, conversation_id: int, owner: str, now: str) -> bool:
    """Make the owner's conversation the most recently active one; False if it is not theirs.

    As a transaction's first statement it also holds the conversation until the commit:
    two questions asked in one conversation at once are stored one after the other.
    """
    result = await db.execute(
        "UPDATE conversations SET updated_at = :now WHERE id = :id AND owner = :owner AND deleted_at IS NULL",
        {"now": now, "id": conversation_id, "owner": owner},
    )
    return result.rowcount == 1


# What the sidebar shows of a chat, and which chats it lists: the owner's, not deleted, no API calls.
SIDEBAR_COLUMNS = "id, title, updated_at, keep, folder_id, pinned_at"
_LISTED = "owner = :owner AND api = 0 AND deleted_at IS NULL"
# The sidebar in one statement, each part one index range: the pinned chats by pin time
# (conversations_pinned), the chats of the folder holding the chat on screen and the first
# page of chats in no folder by recency (conversations_sidebar), and the folders by name.
_SIDEBAR = (
    f"SELECT * FROM (SELECT 'pinned' AS part, {SIDEBAR_COLUMNS} FROM conversations"
    f" WHERE {_LISTED} AND pinned_at IS NOT NULL ORDER BY pinned_at DESC LIMIT :pins) pinned_chats"
    f" UNION ALL SELECT * FROM (SELECT 'opened' AS part, {SIDEBAR_COLUMNS} FROM conversations"
    f" WHERE {_LISTED} AND pinned_at IS NULL"
    " AND folder_id = (SELECT folder_id FROM conversations WHERE id = :current AND owner = :owner)"
    " ORDER BY updated_at DESC, id DESC LIMIT :in_folder) opened_chats"
    f" UNION ALL SELECT * FROM (SELECT 'recent' AS part, {SIDEBAR_COLUMNS} FROM conversations"
    f" WHERE {_LISTED} AND folder_id IS NULL AND pinned_at IS NULL"
    " ORDER BY updated_at DESC, id DESC LIMIT :limit) recent_chats"
    " UNION ALL SELECT * FROM (SELECT 'folder' AS part, id, name AS title, created_at AS updated_at,"
    " 0 AS keep, id AS folder_id, NULL AS pinned_at FROM folders WHERE owner = :owner"
    " ORDER BY name, id LIMIT :folders) folder_rows"
)


async def sidebar(
    db: Executor, owner: str, current: int | None, limit: int, pins: int, in_folder: int, folders: int
) -> dict[str, list[Row]]:
    """The sidebar's parts in one query: `pinned`, `opened` (the current chat's folder), `recent`, `folder`.

    Chats come most recent first (pinned ones most recently pinned first), folders by name.
    """
    rows = await db.fetch_all(
        _SIDEBAR,
        {
            "owner": owner,
            "current": current,
            "limit": limit,
            "pins": pins,
            "in_folder": in_folder,
            "folders": folders,
        },
    )
    parts: dict[str, list[Row]] = {"pinned": [], "opened": [], "recent": [], "folder": []}
    for row in rows:
        parts[row.pop("part")].append(row)
    # A union promises no order: each part is put back in its own.
    parts["pinned"].sort(key=lambda row: (row["pinned_at"], row["id"]), reverse=True)
    for name in ("opened", "recent"):
        parts[name].sort(key=lambda row: (row["updated_at"], row["id"]), reverse=True)
    parts["folder"].sort(key=lambda row: (row["title"].casefold(), row["id"]))
    return parts


async def page(db: Executor, owner: str, before: tuple[str, int] | None, limit: int) -> list[Row]:
    """A page of the owner's chats in no folder and not pinned, most recent first, older than `before`."""
    return await listed(db, owner, None, before, limit)


async def listed(
    db: Executor,
    owner: str,
    folder_id: int | None,
    before: tuple[str, int] | None,
    limit: int,
    pinned_too: bool = False,
) -> list[Row]:
    """A page of the owner's chats in a folder (None: in none), most recent first, older than `before`.

    Pinned chats, listed apart in the sidebar, are left out unless `pinned_too`.
    """
    where = _LISTED + (" AND folder_id = :folder_id" if folder_id is not None else " AND folder_id IS NULL")
    if not pinned_too:
        where += " AND pinned_at IS NULL"
    params: dict[str, object] = {"owner": owner, "folder_id": folder_id, "limit": limit}
    if before is not None:
        where += " AND (updated_at < :updated_at OR (updated_at = :updated_at AND id < :id))"
        params |= {"updated_at": before[0], "id": before[1]}
    order = "ORDER BY updated_at DESC, id DESC LIMIT :limit"
    return await db.fetch_all(f"SELECT {SIDEBAR_COLUMNS} FROM conversations WHERE {where} {order}", params)


async def pinned_count(db: Executor, owner: str) -> int:
    """How many chats the owner has pinned."""
    row = await db.fetch_one(
        f"SELECT COUNT(*) AS n FROM conversations WHERE {_LISTED} AND pinned_at IS NOT NULL", {"owner": owner}
    )
    return int(row["n"]) if row else 0


async def pin(db: Executor, conversation_id: int, owner: str, pinned: bool) -> bool:
    """Pin the owner's chat to the top of the sidebar (or unpin it); False if it is not theirs."""
    found = await get(db, conversation_id, owner)
    if found is None:
        return False
    if pinned != (found["pinned_at"] is not None):
        await db.execute(
            "UPDATE conversations SET pinned_at = :pinned_at WHERE id = :id AND owner = :owner",
            {"pinned_at": utcnow() if pinned else None, "id": conversation_id, "owner": owner},
        )
    return True


async def move(db: Executor, conversation_id: int, owner: str, folder_id: int | None) -> bool:
    """Put the owner's chat in one of their folders (None: out of any); False if the chat is not theirs.

    The caller checks the folder is the owner's.
    """
    if await get(db, conversation_id, owner) is None:
        return False
    await db.execute(
        "UPDATE conversations SET folder_id = :folder_id WHERE id = :id AND owner = :owner",
        {"folder_id": folder_id, "id": conversation_id, "owner": owner},
    )
    return True


async def remember_model(db: Executor, conversation_id: int, model: str, server: str) -> None:
    """Keep the model last chosen in a conversation, offered first when it is opened again."""
    await db.execute(
        "UPDATE conversations SET model = :model, server = :server WHERE id = :id",
        {"model": model, "server": server, "id": conversation_id},
    )


async def instruct(
    db: Executor, conversation_id: int, owner: str, instructions: str | None, temperature: float | None
) -> bool:
    """Give the owner's conversation its own instructions and temperature (None: the defaults)."""
    result = await db.execute(
        "UPDATE conversations SET instructions = :instructions, temperature = :temperature"
        " WHERE id = :id AND owner = :owner AND deleted_at IS NULL",
        {"instructions": instructions, "temperature": temperature, "id": conversation_id, "owner": owner},
    )
    return result.rowcount == 1 or await get(db, conversation_id, owner) is not None


async def rename(db: Executor, conversation_id: int, owner: str, title: str) -> bool:
    """Give the owner's conversation a new title; False if it is not theirs."""
    if await get(db, conversation_id, owner) is None:
        return False
    await db.execute(
        "UPDATE conversations SET title = :title WHERE id = :id AND owner = :owner",
        {"title": title, "id": conversation_id, "owner": owner},
    )
    return True


async def delete(db: Executor, conversation_id: int, owner: str, erase: bool = False) -> bool:
    """Delete the owner's conversation: hidden from them, kept for the operator; False if not theirs.

    Its answers still being written are stopped, and it is no longer kept from retention.
    With `erase` it goes with its exchanges at once (the foreign key cascades). Either way
    what it spent stays in the usage ledger.
    """
    if erase:
        result = await db.execute(
            "DELETE FROM conversations WHERE id = :id AND owner = :owner",
            {"id": conversation_id, "owner": owner},
        )
        return result.rowcount == 1
    result = await db.execute(
        "UPDATE conversations SET deleted_at = :now, keep = 0"
        " WHERE id = :id AND owner = :owner AND deleted_at IS NULL",
        {"now": utcnow(), "id": conversation_id, "owner": owner},
    )
    if result.rowcount == 1:
        await request_live_stop(db, conversation_id, owner)
    return result.rowcount == 1
