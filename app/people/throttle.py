"""Password guesses, counted from the audit trail: a wait before the next one is allowed, or none."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ..config import Rate
from ..storage import Executor, audit


def _now() -> datetime:
    return datetime.now(UTC)


# The time the throttle reads and the failures it records carry; tests put a clock of their own here.
clock: Callable[[], datetime] = _now


async def current_password_wait(db: Executor, username: str, rate: Rate) -> int | None:
    """Seconds before an account may try its current password again (when changing it), or None."""
    now = clock()
    found = await audit.failures(db, audit.PASSWORD_CHANGE_FAILED, username, now - _span(rate))
    if found.count < rate.count or found.first is None:
        return None
    return _seconds_until(found.first + _span(rate), now)


async def password_change_failed(db: Executor, user_id: int, username: str, address: str) -> None:
    """Record a wrong current password given on the account page."""
    await audit.record(
        db, audit.PASSWORD_CHANGE_FAILED, actor_id=user_id, subject=username, address=address, at=clock()
    )


def _span(rate: Rate) -> timedelta:
    return timedelta(seconds=rate.seconds)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))
