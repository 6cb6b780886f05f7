"""Usage over a span of days, read from the usage ledger: questions and errors per day, tokens by model
and owner, latency percentiles. What a person deleted still counts: it was spent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .base import Executor, Row
from .status import Status

_DAY = "day"
_TOKENS = (
    "SUM(COALESCE(prompt_tokens, 0)) AS prompt_tokens,"
    " SUM(COALESCE(completion_tokens, 0)) AS completion_tokens, SUM(estimated) AS estimated"
)


@dataclass(slots=True)
class Usage:
    """What was asked and spent in a span of days."""

    days: list[Row] = field(default_factory=list)
    models: list[Row] = field(default_factory=list)
    owners: list[Row] = field(default_factory=list)
    # By source: the chat (key_name None) and each API key's name.
    sources: list[Row] = field(default_factory=list)
    answered: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None


async def read(db: Executor, owner: str | None, since: str) -> Usage:
    """Usage of one owner (None: everyone) from the UTC day of a stored time on."""
    where, params = _where(owner, since)
    usage = Usage()
    usage.days = await db.fetch_all(
        f"SELECT {_DAY} AS day, COUNT(*) AS questions,"
        " SUM(CASE WHEN status = :error THEN 1 ELSE 0 END) AS errors,"
        f" {_TOKENS} FROM usage_ledger WHERE {where} GROUP BY {_DAY} ORDER BY day",
        {**params, "error": Status.ERROR},
    )
    usage.models = await db.fetch_all(
        f"SELECT model, COUNT(*) AS questions, {_TOKENS}"
        f" FROM usage_ledger WHERE {where} GROUP BY model ORDER BY questions DESC",
        params,
    )
    usage.sources = await db.fetch_all(
        f"SELECT key_name, COUNT(*) AS questions, {_TOKENS}"
        f" FROM usage_ledger WHERE {where} GROUP BY key_name ORDER BY questions DESC LIMIT 50",
        params,
    )
    if owner is None:
        usage.owners = await db.fetch_all(
            f"SELECT owner, COUNT(*) AS questions, {_TOKENS}"
            f" FROM usage_ledger WHERE {where} GROUP BY owner ORDER BY questions DESC LIMIT 50",
            params,
        )
    timed = f"{where} AND status = :done AND latency_ms IS NOT NULL"
    params_done = {**params, "done": Status.DONE}
    row = await db.fetch_one(f"SELECT COUNT(*) AS n FROM usage_ledger WHERE {timed}", params_done)
    usage.answered = int(row["n"]) if row else 0
    if usage.answered:
        usage.p50_ms = await _latency_at(db, timed, params_done, usage.answered * 50 // 100)
        usage.p95_ms = await _latency_at(
            db, timed, params_done, min(usage.answered - 1, usage.answered * 95 // 100)
        )
    return usage


async def _latency_at(db: Executor, where: str, params: dict[str, Any], position: int) -> int | None:
    row = await db.fetch_one(
        f"SELECT latency_ms FROM usage_ledger WHERE {where}"
        f" ORDER BY latency_ms LIMIT 1 OFFSET {int(position)}",
        params,
    )
    return int(row["latency_ms"]) if row else None


def _where(owner: str | None, since: str) -> tuple[str, dict[str, Any]]:
    if owner is None:
        return "day >= :since", {"since": since[:10]}
    return "owner = :owner AND day >= :since", {"owner": owner, "since": since[:10]}
