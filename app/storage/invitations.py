"""One-time links an admin hands out: to make an account, or to set a new password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .base import Executor, Row
from .dialects import TIME_FORMAT, utcnow
from .sessions import key

VALID_DAYS = 7


async def create(db: Executor, token: str, created_by: int, user_id: int | None = None) -> None:
    """Store a link's token (by its digest); with `user_id` it resets that user's password."""
    expires = (datetime.now(UTC) + timedelta(days=VALID_DAYS)).strftime(TIME_FORMAT)
    await db.execute(
        "INSERT INTO invitations (id, user_id, created_by, created_at, expires_at)"
        " VALUES (:id, :user, :by, :now, :expires)",
        {"id": key(token), "user": user_id, "by": created_by, "now": utcnow(), "expires": expires},
    )


async def find(db: Executor, token: str) -> Row | None:
    """An unused, unexpired link, or None."""
    return await db.fetch_one(
        "SELECT id, user_id, created_by FROM invitations"
        " WHERE id = :id AND used_at IS NULL AND expires_at > :now",
        {"id": key(token), "now": utcnow()},
    )


async def use(db: Executor, token: str) -> bool:
    """Spend a link; False when someone spent it first."""
    result = await db.execute(
        "UPDATE invitations SET used_at = :now WHERE id = :id AND used_at IS NULL AND expires_at > :now",
        {"id": key(token), "now": utcnow()},
    )
    return result.rowcount == 1
