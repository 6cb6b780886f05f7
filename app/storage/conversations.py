"""Queries on conversations: a titled thread of exchanges belonging to one owner."""

from __future__ import annotations

from .base import Executor, Row
from .dialects import utcnow

TITLE_CHARS = 80


def title_from(question: str) -> str:
    """Make a conversation title from its first question, without asking the model."""
    words = " ".join(question.split())
    if len(words) <= TITLE_CHARS:
        return words
    cut = words[:TITLE_CHARS].rsplit(" ", 1)[0] or words[:TITLE_CHARS]
    return cut + "…"


async def create(db: Executor, owner: str, title: str) -> int:
    """Start a conversation and return its id."""
    now = utcnow()
    result = await db.execute(
        "INSERT INTO conversations (owner, title, created_at, updated_at)"
        " VALUES (:owner, :title, :now, :now)",
        {"owner": owner, "title": title, "now": now},
    )
    assert result.lastrowid is not None
    return result.lastrowid


async def get(db: Executor, conversation_id: int, owner: str) -> Row | None:
    """Return the owner's conversation, or None if it is not theirs or does not exist."""
    return await db.fetch_one(
        "SELECT id, owner, title, created_at, updated_at FROM conversations"
        " WHERE id = :id AND owner = :owner",
        {"id": conversation_id, "owner": owner},
    )
