"""Signed-in sessions kept on the server: a cookie is only as good as its row here."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from .base import Executor, Row
from .dialects import TIME_FORMAT, as_datetime, utcnow

# A session unused this long ends; one in use is marked seen at most this often.
IDLE_DAYS = 30
SEEN_EVERY = timedelta(hours=1)


def key(token: str) -> str:
    """The stored id of a session token: its digest, so a leaked table signs nobody in."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def create(db: Executor, token: str, owner: str, user_id: int | None = None) -> None:
    """Record a new signed-in session, of a user when one signed in (and forget sessions idle too long)."""
    now = utcnow()
    await db.execute(
        "DELETE FROM sessions WHERE seen_at < :oldest", {"oldest": _ago(timedelta(days=IDLE_DAYS))}
    )
    await db.execute(
        "INSERT INTO sessions (id, owner, user_id, created_at, seen_at)"
        " VALUES (:id, :owner, :user, :now, :now)",
        {"id": key(token), "owner": owner, "user": user_id, "now": now},
    )


async def active(db: Executor, token: str, owner: str) -> bool:
    """Whether a session token is still signed in for this owner; a recently unmarked one is marked seen."""
    row = await db.fetch_one(
        "SELECT seen_at FROM sessions WHERE id = :id AND owner = :owner AND seen_at >= :oldest",
        {"id": key(token), "owner": owner, "oldest": _ago(timedelta(days=IDLE_DAYS))},
    )
    if row is None:
        return False
    seen = as_datetime(row["seen_at"])
    if seen is None or seen < datetime.now(UTC) - SEEN_EVERY:
        await db.execute(
            "UPDATE sessions SET seen_at = :now WHERE id = :id", {"id": key(token), "now": utcnow()}
        )
    return True


async def user_of(db: Executor, token: str) -> Row | None:
    """The enabled user a live session token belongs to, or None (a disabled user's stop at once)."""
    row = await db.fetch_one(
        "SELECT u.id, u.owner, u.username, u.role, s.seen_at FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.id = :id AND s.seen_at >= :oldest AND u.disabled_at IS NULL",
        {"id": key(token), "oldest": _ago(timedelta(days=IDLE_DAYS))},
    )
    if row is None:
        return None
    seen = as_datetime(row.pop("seen_at"))
    if seen is None or seen < datetime.now(UTC) - SEEN_EVERY:
        await db.execute(
            "UPDATE sessions SET seen_at = :now WHERE id = :id", {"id": key(token), "now": utcnow()}
        )
    return row


async def end_user(db: Executor, user_id: int, keep: str | None = None) -> None:
    """Sign a user out everywhere, except the session `keep` when given."""
    await db.execute(
        "DELETE FROM sessions WHERE user_id = :user AND id <> :keep",
        {"user": user_id, "keep": key(keep) if keep else ""},
    )


async def end(db: Executor, token: str) -> None:
    """Sign one session out, wherever its cookie has been copied to."""
    await db.execute("DELETE FROM sessions WHERE id = :id", {"id": key(token)})


async def end_all(db: Executor, owner: str) -> None:
    """Sign out every session of an owner."""
    await db.execute("DELETE FROM sessions WHERE owner = :owner", {"owner": owner})


def _ago(span: timedelta) -> str:
    return (datetime.now(UTC) - span).strftime(TIME_FORMAT)
