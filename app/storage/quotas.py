"""What a person has used: answers being written now (their rows), tokens since a day (the usage ledger)."""

from __future__ import annotations

from .base import Executor
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
