"""Settings changed in the browser: one row per setting, and their version (the `settings` lock's count)."""

from __future__ import annotations

from .base import Executor
from .dialects import upsert, utcnow

LOCK = "settings"


async def version(db: Executor) -> int:
    """The settings' version: one read of one row by its key."""
    row = await db.fetch_one("SELECT taken FROM locks WHERE name = :name", {"name": LOCK})
    return int(row["taken"]) if row else 0


async def stored(db: Executor) -> dict[str, str]:
    """Every stored setting's text, by name."""
    return {row["name"]: row["value"] for row in await db.fetch_all("SELECT name, value FROM settings")}


async def take(tx: Executor, dialect: str) -> int:
    """Lock the settings until the transaction ends and bump their version; return the new version.

    Call it first in the transaction: what is read after it is what the writer before left.
    A write, not a locking read, so that a Galera cluster's nodes also see two writers collide.
    """
    await tx.execute(
        upsert(dialect, "locks", "name", {"name": ":name", "taken": "1"}, {"taken": "taken + 1"}),
        {"name": LOCK},
    )
    return await version(tx)


async def put(tx: Executor, dialect: str, name: str, value: str, actor_id: int | None) -> None:
    """Store one setting's text."""
    await tx.execute(
        upsert(
            dialect,
            "settings",
            "name",
            {"name": ":name", "value": ":value", "updated_at": ":now", "updated_by": ":actor"},
            {"value": ":value", "updated_at": ":now", "updated_by": ":actor"},
        ),
        {"name": name, "value": value, "now": utcnow(), "actor": actor_id},
    )
