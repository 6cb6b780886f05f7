"""Queries on shared links: a read-only copy of a conversation at an unguessable address."""

from __future__ import annotations

from .base import Executor, Row
from .dialects import utcnow


async def create(
    db: Executor, token: str, conversation_id: int, owner: str, title: str, snapshot: str
) -> None:
    """Store a shared copy of a conversation under its token."""
    await db.execute(
        "INSERT INTO shares (token, conversation_id, owner, title, snapshot, created_at)"
        " VALUES (:token, :conversation_id, :owner, :title, :snapshot, :now)",
        {
            "token": token,
            "conversation_id": conversation_id,
            "owner": owner,
            "title": title,
            "snapshot": snapshot,
            "now": utcnow(),
        },
    )


async def get(db: Executor, token: str) -> Row | None:
    """The shared copy a token opens, unless it was revoked or its chat deleted (nothing about its owner)."""
    return await db.fetch_one(
        "SELECT s.title, s.snapshot, s.created_at FROM shares s"
        " JOIN conversations c ON c.id = s.conversation_id"
        " WHERE s.token = :token AND s.revoked_at IS NULL AND c.deleted_at IS NULL",
        {"token": token},
    )


async def of_conversation(db: Executor, conversation_id: int, owner: str) -> list[Row]:
    """The owner's links to one conversation that still open, newest first."""
    return await db.fetch_all(
        "SELECT token, created_at FROM shares WHERE conversation_id = :id AND owner = :owner"
        " AND revoked_at IS NULL ORDER BY id DESC",
        {"id": conversation_id, "owner": owner},
    )


async def revoke(db: Executor, token: str, owner: str) -> int | None:
    """Close one of the owner's links for good; the conversation it shared, or None if it was not theirs."""
    found = await db.fetch_one(
        "SELECT conversation_id FROM shares WHERE token = :token AND owner = :owner",
        {"token": token, "owner": owner},
    )
    if found is None:
        return None
    await db.execute(
        "UPDATE shares SET revoked_at = :now WHERE token = :token AND owner = :owner AND revoked_at IS NULL",
        {"now": utcnow(), "token": token, "owner": owner},
    )
    return found["conversation_id"]
