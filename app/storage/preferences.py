"""Queries on a person's own settings: default instructions and model, theme, time zone."""

from __future__ import annotations

from .base import Executor, Row
from .dialects import utcnow

FIELDS = ("instructions", "model", "server", "theme", "time_zone")


async def get(db: Executor, owner: str) -> Row | None:
    """The owner's settings, or None when they never saved any."""
    return await db.fetch_one(
        "SELECT instructions, model, server, theme, time_zone FROM preferences WHERE owner = :owner",
        {"owner": owner},
    )


async def save(db: Executor, owner: str, values: Row) -> None:
    """Store the owner's settings (call inside a transaction: it reads, then writes)."""
    params = {name: values.get(name) for name in FIELDS} | {"owner": owner, "now": utcnow()}
    params["theme"] = params["theme"] or "system"
    if await get(db, owner) is None:
        await db.execute(
            "INSERT INTO preferences (owner, instructions, model, server, theme, time_zone, updated_at)"
            " VALUES (:owner, :instructions, :model, :server, :theme, :time_zone, :now)",
            params,
        )
    else:
        await db.execute(
            "UPDATE preferences SET instructions = :instructions, model = :model, server = :server,"
            " theme = :theme, time_zone = :time_zone, updated_at = :now WHERE owner = :owner",
            params,
        )


async def forget(db: Executor, owner: str) -> None:
    """Delete the owner's settings (their instructions among them)."""
    await db.execute("DELETE FROM preferences WHERE owner = :owner", {"owner": owner})
