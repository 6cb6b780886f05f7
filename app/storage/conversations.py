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
    }


async def get(db: Executor, conversation_id: int, owner: str) -> Row | None:
    """Return the owner's conversation, or None if it is not theirs, does not exist, or they deleted it."""
    return await db.fetch_one(
        "SELECT id, owner, title, created_at, updated_at, keep, model, server, instructions, temperature"
        " FROM conversations"
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
        " c.instructions, c.temperature,"
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


async def page(db: Executor, owner: str, before: tuple[str, int] | None, limit: int) -> list[Row]:
    """Return a page of the owner's chats, most recently active first, older than `before` (no API calls)."""
    if before is None:
        return await db.fetch_all(
            "SELECT id, title, updated_at, keep FROM conversations WHERE owner = :owner"
            " AND deleted_at IS NULL AND api = 0 ORDER BY updated_at DESC, id DESC LIMIT :limit",
            {"owner": owner, "limit": limit},
        )
    updated_at, conversation_id = before
    return await db.fetch_all(
        "SELECT id, title, updated_at, keep FROM conversations WHERE owner = :owner"
        " AND deleted_at IS NULL AND api = 0"
        " AND (updated_at < :updated_at OR (updated_at = :updated_at AND id < :id))"
        " ORDER BY updated_at DESC, id DESC LIMIT :limit",
        {"owner": owner, "updated_at": updated_at, "id": conversation_id, "limit": limit},
    )


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
