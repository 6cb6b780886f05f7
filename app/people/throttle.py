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


# A name that failed this many times in its span (from any address) waits before each further
# try: 1 s after the last failure, then 2, 4, 8… up to this.
LONGEST_WAIT_SECONDS = 60
# Why a sign-in waits: its address failed too often under the name, or the name itself did.
FROM_HERE = "sign in to this account"
SLOWED = "sign in to this account again"


async def sign_in_wait(db: Executor, name: str, address: str, rate: Rate) -> tuple[str, int] | None:
    """Why, and how many seconds, a sign-in under a name from an address must wait; None when it need not.

    Failures count per name and address: `rate` of them lock that pair out for the rest of
    their span. Across every address, as many make the name slow down rather than lock, and
    an address that signed in to the name before is not slowed: strangers cannot lock anyone out.
    """
    now = clock()
    since = now - _span(rate)
    pair = await audit.failures(db, audit.SIGN_IN_FAILED, name, since, address)
    if pair.count >= rate.count and pair.first is not None:
        return FROM_HERE, _seconds_until(pair.first + _span(rate), now)
    named = await audit.failures(db, audit.SIGN_IN_FAILED, name, since)
    if named.count < rate.count or named.last is None:
        return None
    gap = timedelta(seconds=min(LONGEST_WAIT_SECONDS, 2 ** min(named.count - rate.count, 16)))
    if named.last + gap <= now or await audit.signed_in_from(db, name, address):
        return None
    return SLOWED, _seconds_until(named.last + gap, now)


async def sign_in_failed(db: Executor, name: str, address: str) -> None:
    """Record a failed sign-in under a name (whether or not anyone has it)."""
    await audit.record(db, audit.SIGN_IN_FAILED, subject=name, address=address, at=clock())


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
