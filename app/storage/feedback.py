"""Feedback on answers: a thumbs up or down and an optional comment, one per exchange, its owner's."""

from __future__ import annotations

from collections.abc import Iterable

from . import events, outbox
from .base import Executor, Row, one_of_these
from .dialects import upsert, utcnow
from .exchanges import SHOWN

UP, DOWN = "up", "down"
RATINGS = (UP, DOWN)
MAX_COMMENT_CHARS = 2_000


async def give(tx: Executor, exchange_id: int, owner: str, rating: str, comment: str | None) -> Row | None:
    """Give or change the owner's feedback on one of their exchanges; None if it is not theirs.

    The one place feedback is written: call it inside a transaction.
    """
    exchange = await _own(tx, exchange_id, owner)
    if exchange is None:
        return None
    now = utcnow()
    values = {
        "exchange_id": exchange_id,
        "owner": owner,
        "rating": rating,
        "comment": comment or None,
        "now": now,
    }
    # One statement, so that two first ratings sent at once leave one row rather than a failure.
    await tx.execute(
        upsert(
            tx.dialect,
            "feedback",
            "exchange_id",
            {name: f":{name}" for name in ("exchange_id", "owner", "rating", "comment")}
            | {"created_at": ":now", "updated_at": ":now"},
            {"rating": ":rating", "comment": ":comment", "updated_at": ":now"},
        ),
        values,
    )
    await outbox.add(
        tx, events.FEEDBACK_GIVEN, events.feedback_given(exchange, rating, comment or None, now), at=now
    )
    return await of_exchange(tx, exchange_id)


async def remove(tx: Executor, exchange_id: int, owner: str) -> bool:
    """Remove the owner's feedback on one of their exchanges; False if the exchange is not theirs."""
    exchange = await _own(tx, exchange_id, owner)
    if exchange is None:
        return False
    removed = await tx.execute(
        "DELETE FROM feedback WHERE exchange_id = :id AND owner = :owner", {"id": exchange_id, "owner": owner}
    )
    if removed.rowcount:
        now = utcnow()
        await outbox.add(tx, events.FEEDBACK_GIVEN, events.feedback_given(exchange, None, None, now), at=now)
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
        "SELECT id, conversation_id, owner, model, server FROM exchanges e"
        f" WHERE id = :id AND owner = :owner AND {SHOWN}",
        {"id": exchange_id, "owner": owner},
    )
