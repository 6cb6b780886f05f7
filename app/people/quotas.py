"""Quotas per person: questions per minute, answers at once and tokens per day, counted per account.

Each is the default from the environment unless the person's groups set it: a person in
several groups gets the most generous of their groups' values (a group leaving one blank
gives the default for it). Read once per request that asks the model, never kept across requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from quart import g

from .. import messages
from ..answers import Busy
from ..config import Rate, current_config
from ..storage import Row, get_db, groups, quotas
from ..storage.dialects import TIME_FORMAT
from .identity import current_user, owner

MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class Limits:
    """One person's quotas now."""

    ask_rate: Rate
    answers_at_once: int
    # 0: no limit.
    tokens_per_day: int


def defaults() -> Limits:
    """The quotas of a person in no group that sets any."""
    config = current_config()
    return Limits(config.ask_rate, config.max_streams_per_client, config.tokens_per_day)


def most_generous(base: Limits, found: Row | None) -> Limits:
    """The quotas a person's groups give (`groups.quotas_of`): for each, the best of their groups' values,
    counting the default among them when one of their groups leaves it blank."""
    if found is None or not found["groups_in"]:
        return base
    everyone = int(found["groups_in"])

    def given(column: str) -> tuple[int | None, bool]:
        """The highest value a group sets for this quota (None: none does), and whether one is blank."""
        count = int(found[f"{column}_set"])
        return (int(found[column]) if count else None), count < everyone

    def best(column: str, default: int) -> list[int]:
        highest, blank = given(column)
        return ([] if highest is None else [highest]) + ([default] if blank else [])

    per_minute, blank = given("questions_per_minute")
    rates = ([] if per_minute is None else [Rate(per_minute, MINUTE)]) + ([base.ask_rate] if blank else [])
    tokens = best("tokens_per_day", base.tokens_per_day)
    return Limits(
        ask_rate=max(rates, key=lambda rate: rate.count / rate.seconds),
        answers_at_once=max(best("answers_at_once", base.answers_at_once)),
        tokens_per_day=0 if 0 in tokens else max(tokens),
    )


async def load() -> Limits:
    """The quotas of the person on this request, read from their groups (once per request)."""
    if "limits" not in g:
        user = current_user()
        found = await groups.quotas_of(get_db(), user["id"]) if user is not None else None
        g.limits = most_generous(defaults(), found)
    limits: Limits = g.limits
    return limits


def loaded() -> Limits | None:
    """The quotas this request has read, if it has."""
    return g.get("limits")


async def check() -> None:
    """Refuse a question (Busy, with when it may be asked) once the person has reached a quota."""
    db, limit = get_db(), (await load()).tokens_per_day
    user = current_user()
    # Answers at once are counted, and a place taken, in the transaction that stores the question.
    if limit:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        # An API call has a person but no browser session.
        mine = user["owner"] if user is not None else owner()
        used = await quotas.tokens_since(db, mine, midnight.strftime(TIME_FORMAT))
        if used >= limit:
            resets = midnight + timedelta(days=1)
            left = (resets - datetime.now(UTC)).total_seconds()
            raise Busy(messages.tokens_spent(limit, resets), retry_after=left)
