"""What a person has used: answers being written now (their rows), tokens since a day (the usage ledger)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .base import Database, Executor
from .dialects import upsert
from .exchanges import one_of
from .status import LIVE


async def live_answers(db: Executor, owner: str) -> int:
    """How many of the owner's answers are waiting or being written, on any instance."""
    statuses, params = one_of("live", LIVE)
    row = await db.fetch_one(
        f"SELECT COUNT(*) AS n FROM exchanges WHERE owner = :owner AND status IN {statuses}",
        {"owner": owner, **params},
    )
    return int(row["n"]) if row else 0


async def live_ids(db: Executor, owner: str) -> list[int]:
    """The ids of the owner's answers waiting or being written, on any instance."""
    statuses, params = one_of("live", LIVE)
    rows = await db.fetch_all(
        f"SELECT id FROM exchanges WHERE owner = :owner AND status IN {statuses}", {"owner": owner, **params}
    )
    return [int(row["id"]) for row in rows]


async def tokens_since(db: Executor, owner: str, since: str) -> int:
    """The tokens (prompt and completion) of the owner's questions asked from the UTC day of `since` on.

    Read from the usage ledger: deleting a chat or an exchange gives back nothing.
    """
    row = await db.fetch_one(
        "SELECT SUM(COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)) AS n FROM usage_ledger"
        " WHERE owner = :owner AND day >= :day",
        {"owner": owner, "day": since[:10]},
    )
    return int(row["n"] or 0) if row else 0


class NoPlaces(Exception):
    """The owner has no row of places yet: make it (`make_places`) outside the transaction, then again."""


async def lock_places(tx: Executor, owner: str) -> None:
    """Lock the owner's places until the transaction ends: askers of one person go one at a time.

    Call it first in the transaction, before any read: what is read after it is what
    the asker before left. A write, not a locking read, so that a Galera cluster's
    nodes also see two askers collide.
    """
    result = await tx.execute("UPDATE places SET asks = asks + 1 WHERE owner = :owner", {"owner": owner})
    if result.rowcount == 0:
        raise NoPlaces(owner)


async def make_places(db: Database, owner: str) -> None:
    """Make the owner's row of places (outside a transaction: concurrent first askers do not deadlock)."""
    await db.execute(
        upsert(db.dialect, "places", "owner", {"owner": ":owner", "asks": "0"}, {"asks": "asks"}),
        {"owner": owner},
    )


async def placed[T](
    db: Database, owner: str, store: Callable[[Executor], Awaitable[T]], idempotent: bool = False
) -> T:
    """Run a transaction that starts by locking the owner's places, making their row first if need be."""
    try:
        return await db.transact(store, idempotent=idempotent)
    except NoPlaces:
        await make_places(db, owner)
        return await db.transact(store, idempotent=idempotent)
