"""The usage ledger: what each question spent, one line each, kept apart from the exchanges.

No deletion of a chat or an exchange touches it, nor does retention: usage and the day's
quota read it, so what was spent stays counted. Erasing a person gives their lines to
ERASED, so the totals stay true without saying whose they were.
"""

from __future__ import annotations

from .base import Executor

# The owner of the lines of every person erased.
ERASED = "erased"


def from_exchanges(first_id: int = 0) -> str:
    """The statement giving the stored exchanges from `first_id` on their lines (the upgrade, a seeder)."""
    return (
        "INSERT INTO usage_ledger (exchange_id, owner, day, model, server, status, prompt_tokens,"
        " completion_tokens, latency_ms, key_name) SELECT id, owner, SUBSTR(created_at, 1, 10), model,"
        " server, status, prompt_tokens, completion_tokens, latency_ms, key_name FROM exchanges"
        f" WHERE id >= {int(first_id)} ORDER BY id"
    )


async def record(
    db: Executor,
    exchange_id: int,
    owner: str,
    asked_at: str,
    model: str | None,
    server: str | None,
    key_name: str | None = None,
) -> None:
    """Count a question as it is stored, on its day, with the API key that asked (None: the chat)."""
    await db.execute(
        "INSERT INTO usage_ledger (exchange_id, owner, day, model, server, status, key_name)"
        " VALUES (:exchange_id, :owner, :day, :model, :server, 'pending', :key_name)",
        {
            "exchange_id": exchange_id,
            "owner": owner,
            "day": asked_at[:10],
            "model": model,
            "server": server,
            "key_name": key_name,
        },
    )


async def settle(db: Executor, exchange_id: int, values: dict[str, object]) -> None:
    """Write how a question's answer ended (status, model, tokens, estimated, latency); twice is once."""
    await db.execute(
        "UPDATE usage_ledger SET status = :status, model = :model, prompt_tokens = :prompt_tokens,"
        " completion_tokens = :completion_tokens, estimated = :estimated, latency_ms = :latency_ms"
        " WHERE exchange_id = :exchange_id",
        {
            "exchange_id": exchange_id,
            **{
                name: values.get(name)
                for name in ("status", "model", "prompt_tokens", "completion_tokens", "latency_ms")
            },
            "estimated": int(bool(values.get("estimated"))),
        },
    )


async def ended(db: Executor, exchange_id: int, status: str) -> None:
    """Note that a question's answer ended with a status, its tokens not (yet) known."""
    await db.execute(
        "UPDATE usage_ledger SET status = :status WHERE exchange_id = :exchange_id",
        {"exchange_id": exchange_id, "status": status},
    )


async def estimate(db: Executor, exchange_id: int, prompt_tokens: int, completion_tokens: int) -> None:
    """Give a question counted with no tokens an estimate of them (a count already there stays)."""
    await db.execute(
        "UPDATE usage_ledger SET prompt_tokens = :prompt_tokens, completion_tokens = :completion_tokens,"
        " estimated = 1 WHERE exchange_id = :exchange_id AND prompt_tokens IS NULL"
        " AND completion_tokens IS NULL",
        {"exchange_id": exchange_id, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    )


async def anonymise(db: Executor, owner: str) -> int:
    """Give an erased person's lines to ERASED; return how many."""
    result = await db.execute(
        "UPDATE usage_ledger SET owner = :erased WHERE owner = :owner", {"erased": ERASED, "owner": owner}
    )
    return result.rowcount
