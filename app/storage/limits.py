"""Rate-limit counts in the database: a theoretical arrival time per key, forgotten once it has passed."""

from __future__ import annotations

from .base import Database
from .dialects import upsert


async def tat(db: Database, name: str) -> float | None:
    """The key's theoretical arrival time (a UNIX time), or None when it has none."""
    row = await db.fetch_one("SELECT tat FROM rate_limits WHERE name = :name", {"name": name})
    return float(row["tat"]) if row else None


async def set_tat(db: Database, name: str, tat: float, expires_at: float) -> None:
    """Keep the key's theoretical arrival time until `expires_at`, when it no longer limits anything."""
    values = {"name": ":name", "tat": ":tat", "expires_at": ":expires_at"}
    await db.execute(
        upsert(db.dialect, "rate_limits", "name", values, {"tat": ":tat", "expires_at": ":expires_at"}),
        {"name": name, "tat": tat, "expires_at": expires_at},
    )


async def forget_expired(db: Database, now: float) -> int:
    """Delete the keys that no longer limit anything; how many there were."""
    result = await db.execute("DELETE FROM rate_limits WHERE expires_at < :now", {"now": now})
    return result.rowcount
