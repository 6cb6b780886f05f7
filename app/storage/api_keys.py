"""Queries on API keys: each kept as a digest, with its name, owner, uses and whether it was revoked."""

from __future__ import annotations

from .base import Executor, Row
from .dialects import utcnow

_COLUMNS = "k.id, k.user_id, k.name, k.shown, k.created_at, k.last_used_at, k.uses, k.revoked_at"


async def create(db: Executor, user_id: int, name: str, shown: str, digest: str) -> int:
    """Store a new key by its digest and return its id."""
    result = await db.execute(
        "INSERT INTO api_keys (user_id, name, shown, digest, created_at)"
        " VALUES (:user_id, :name, :shown, :digest, :now)",
        {"user_id": user_id, "name": name, "shown": shown, "digest": digest, "now": utcnow()},
    )
    assert result.lastrowid is not None
    return result.lastrowid


async def usable(db: Executor, digest: str) -> Row | None:
    """The live key with this digest and its enabled person; None for a key unknown, revoked or disabled.

    One statement whatever the reason: a revoked key costs what an unknown one does.
    """
    return await db.fetch_one(
        f"SELECT {_COLUMNS}, u.owner, u.username, u.role FROM api_keys k JOIN users u ON u.id = k.user_id"
        " WHERE k.digest = :digest AND k.revoked_at IS NULL AND u.disabled_at IS NULL"
        " AND u.kind <> 'anonymous'",
        {"digest": digest},
    )


async def used(db: Executor, key_id: int) -> None:
    """Count one use of a key, and when it was."""
    await db.execute(
        "UPDATE api_keys SET uses = uses + 1, last_used_at = :now WHERE id = :id",
        {"id": key_id, "now": utcnow()},
    )


async def of_user(db: Executor, user_id: int) -> list[Row]:
    """A person's keys, newest first (revoked ones too)."""
    return await db.fetch_all(
        f"SELECT {_COLUMNS} FROM api_keys k WHERE k.user_id = :user_id ORDER BY k.id DESC",
        {"user_id": user_id},
    )


async def everyone(db: Executor) -> list[Row]:
    """Everyone's keys with their person's name, newest first."""
    return await db.fetch_all(
        f"SELECT {_COLUMNS}, u.username FROM api_keys k JOIN users u ON u.id = k.user_id ORDER BY k.id DESC"
    )


async def get(db: Executor, key_id: int) -> Row | None:
    """One key with its person's name, or None."""
    return await db.fetch_one(
        f"SELECT {_COLUMNS}, u.username FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = :id",
        {"id": key_id},
    )


async def revoke(db: Executor, key_id: int, user_id: int | None = None) -> bool:
    """Revoke a key (only the person's own when `user_id` is given); False when there was none to revoke."""
    mine = "" if user_id is None else " AND user_id = :user_id"
    result = await db.execute(
        f"UPDATE api_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL{mine}",
        {"id": key_id, "user_id": user_id, "now": utcnow()},
    )
    return result.rowcount == 1


async def names(db: Executor, user_id: int | None) -> list[str]:
    """The names of a person's keys (None: everyone's), in order, each once."""
    if user_id is None:
        rows = await db.fetch_all("SELECT DISTINCT name FROM api_keys ORDER BY name LIMIT 100")
    else:
        rows = await db.fetch_all(
            "SELECT DISTINCT name FROM api_keys WHERE user_id = :user_id ORDER BY name", {"user_id": user_id}
        )
    return [row["name"] for row in rows]


async def any_of(db: Executor, user_id: int) -> bool:
    """Whether a person has ever made a key."""
    return (
        await db.fetch_one("SELECT id FROM api_keys WHERE user_id = :id LIMIT 1", {"id": user_id}) is not None
    )
