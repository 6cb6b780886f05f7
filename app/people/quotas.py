"""Quotas per person: tokens per day, counted per account when someone is signed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .. import messages
from ..answers import Busy
from ..config import current_config
from ..storage import get_db, quotas
from ..storage.dialects import TIME_FORMAT
from .identity import current_user, owner


async def check() -> None:
    """Refuse a question (Busy, with when it may be asked) once the person has reached a quota."""
    config, db = current_config(), get_db()
    user = current_user()
    # Answers at once are counted, and a place taken, in the transaction that stores the question.
    if config.tokens_per_day:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        # An API call has a person but no browser session.
        mine = user["owner"] if user is not None else owner()
        used = await quotas.tokens_since(db, mine, midnight.strftime(TIME_FORMAT))
        if used >= config.tokens_per_day:
            resets = midnight + timedelta(days=1)
            left = (resets - datetime.now(UTC)).total_seconds()
            raise Busy(messages.tokens_spent(config.tokens_per_day, resets), retry_after=left)
