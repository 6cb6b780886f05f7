"""Feedback on answers: a thumbs up or down and an optional comment, one per exchange, its owner's."""

from __future__ import annotations

from collections.abc import Iterable

from .base import Executor, Row, one_of_these
from .dialects import utcnow
from .exchanges import SHOWN

UP, DOWN = "up", "down"
RATINGS = (UP, DOWN)
MAX_COMMENT_CHARS = 2_000


async def give(tx: Executor, exchange_id: int, owner: str, rating: str, comment: str | None) -> Row | None:
    """Give or change the owner's feedback on one of their exchanges; None if it is not theirs.

    The one place feedback is written: call it inside a transaction.
    """
    if await _own(tx, exchange_id, owner) is None:
        return None
    now = utcnow()
    values = {
        "exchange_id": exchange_id,
        "owner": owner,
        "rating": rating,
        "comment": comment or None,
        "now": now,
    }
    changed = await tx.execute(
        "UPDATE feedback SET rating = :rating, comment = :comment, updated_at = :now"
        " WHERE exchange_id = :exchange_id",
        values,
    )
    if changed.rowcount == 0:
        await tx.execute(
            "INSERT INTO feedback (exchange_id, owner, rating, comment, created_at, updated_at)"
            " VALUES (:exchange_id, :owner, :rating, :comment, :now, :now)",
            values,
        )
    return await of_exchange(tx, exchange_id)


async def remove(tx: Executor, exchange_id: int, owner: str) -> bool:
    """Remove the owner's feedback on one of their exchanges; False if the exchange is not theirs."""
    if await _own(tx, exchange_id, owner) is None:
        return False
    await tx.execute(
        "DELETE FROM feedback WHERE exchange_id = :id AND owner = :owner", {"id": exchange_id, "owner": owner}
    )
    return True


async def of_exchange(db: Executor, exchange_id: int) -> Row | None:
    """The feedback on one exchange, if any."""
    found = await of_exchanges(db, [exchange_id])
    return found.get(exchange_id)


async def of_exchanges(db: Executor, ids: Iterable[int]) -> dict[int, Row]:
    """The feedback on some exchanges, by exchange id (those without any are left out)."""
    ids = list(ids)
    if not ids:
        return {}
    among, params = one_of_these("id", ids)
    rows = await db.fetch_all(
        f"SELECT exchange_id, rating, comment, updated_at FROM feedback WHERE exchange_id IN {among}", params
    )
    return {row["exchange_id"]: row for row in rows}


async def by_model(db: Executor, owner: str | None, since: str) -> list[Row]:
    """Thumbs up and down per model on the questions asked from the UTC day of `since` (None: everyone's)."""
    mine = " AND f.owner = :owner" if owner is not None else ""
    return await db.fetch_all(
        "SELECT l.model, SUM(CASE WHEN f.rating = :up THEN 1 ELSE 0 END) AS up,"
        " SUM(CASE WHEN f.rating = :down THEN 1 ELSE 0 END) AS down"
        " FROM feedback f JOIN usage_ledger l ON l.exchange_id = f.exchange_id"
        f" WHERE l.day >= :since{mine} GROUP BY l.model ORDER BY l.model",
        {"owner": owner, "since": since[:10], "up": UP, "down": DOWN},
    )


async def _own(tx: Executor, exchange_id: int, owner: str) -> Row | None:
    return await tx.fetch_one(
        f"SELECT id FROM exchanges e WHERE id = :id AND owner = :owner AND {SHOWN}",
        {"id": exchange_id, "owner": owner},
    )
