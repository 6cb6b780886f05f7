"""Queries on exchanges: one question, its answer, and how the answer went."""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import Executor, Row
from .dialects import utcnow

PENDING = "pending"
STREAMING = "streaming"
DONE = "done"
ERROR = "error"
STOPPED = "stopped"
INTERRUPTED = "interrupted"
# Asked to stop while another process streams it; that process ends it as `stopped`.
STOPPING = "stopping"
FINISHED = frozenset({DONE, ERROR, STOPPED, INTERRUPTED})
LIVE = frozenset({PENDING, STREAMING, STOPPING})

_COLUMNS = (
    "id, conversation_id, owner, question, answer, status, model, prompt_tokens,"
    " completion_tokens, latency_ms, error, created_at, answered_at"
)


@dataclass(slots=True)
class Outcome:
    """How an answer ended, as it is written back to its exchange."""

    answer: str
    status: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    answered_at: str = field(default_factory=utcnow)


async def create(
    db: Executor, conversation_id: int, owner: str, question: str, ask_key: str | None = None,
    *, now: str | None = None, new_conversation: bool = False,
) -> int:
    """Store a question as pending (asked `now`, by default the current time) and return the exchange id.

    The conversation becomes the most recently active one, unless `new_conversation`
    says it was created at this same `now` (so it already is).
    """
    now = now or utcnow()
    result = await db.execute(
        "INSERT INTO exchanges (conversation_id, owner, question, status, ask_key, created_at)"
        " VALUES (:conversation_id, :owner, :question, 'pending', :ask_key, :now)",
        {"conversation_id": conversation_id, "owner": owner, "question": question, "ask_key": ask_key, "now": now},
    )
    if not new_conversation:
        await db.execute(
            "UPDATE conversations SET updated_at = :now WHERE id = :id",
            {"now": now, "id": conversation_id},
        )
    assert result.lastrowid is not None
    return result.lastrowid


def stored(exchange_id: int, conversation_id: int, owner: str, question: str, now: str) -> Row:
    """The row `create` stored, as `get` returns it, without reading it back."""
    return {
        "id": exchange_id, "conversation_id": conversation_id, "owner": owner, "question": question,
        "answer": None, "status": PENDING, "model": None, "prompt_tokens": None, "completion_tokens": None,
        "latency_ms": None, "error": None, "created_at": now, "answered_at": None,
    }


async def get(db: Executor, exchange_id: int, owner: str) -> Row | None:
    """Return the owner's exchange, or None."""
    return await db.fetch_one(
        f"SELECT {_COLUMNS} FROM exchanges WHERE id = :id AND owner = :owner",
        {"id": exchange_id, "owner": owner},
    )


async def by_ask_key(db: Executor, owner: str, ask_key: str) -> Row | None:
    """Return the owner's exchange stored from the composer form with this key, or None."""
    return await db.fetch_one(
        f"SELECT {_COLUMNS} FROM exchanges WHERE owner = :owner AND ask_key = :ask_key",
        {"owner": owner, "ask_key": ask_key},
    )


async def claim(db: Executor, exchange_id: int) -> bool:
    """Mark a pending exchange as streaming; only one caller anywhere ever wins."""
    result = await db.execute(
        "UPDATE exchanges SET status = 'streaming' WHERE id = :id AND status = 'pending'",
        {"id": exchange_id},
    )
    return result.rowcount == 1


async def finish(db: Executor, exchange_id: int, outcome: Outcome) -> None:
    """Write how the answer ended; writing the same outcome twice changes nothing more."""
    await db.execute(
        "UPDATE exchanges SET answer = :answer, status = :status, model = :model,"
        " prompt_tokens = :prompt_tokens, completion_tokens = :completion_tokens,"
        " latency_ms = :latency_ms, error = :error, answered_at = :now WHERE id = :id",
        {
            "id": exchange_id,
            "answer": outcome.answer,
            "status": outcome.status,
            "model": outcome.model,
            "prompt_tokens": outcome.prompt_tokens,
            "completion_tokens": outcome.completion_tokens,
            "latency_ms": outcome.latency_ms,
            "error": (outcome.error or "")[:1000] or None,
            "now": outcome.answered_at,
        },
    )


async def save_partial(db: Executor, exchange_id: int, answer: str) -> bool:
    """Store the answer so far while it streams; False once someone asked to stop it."""
    result = await db.execute(
        "UPDATE exchanges SET answer = :answer WHERE id = :id AND status = 'streaming'",
        {"id": exchange_id, "answer": answer},
    )
    return result.rowcount == 1


async def status(db: Executor, exchange_id: int) -> str | None:
    """Return an exchange's status (a cheap look-up by primary key)."""
    row = await db.fetch_one("SELECT status FROM exchanges WHERE id = :id", {"id": exchange_id})
    return row["status"] if row else None


async def progress(db: Executor, exchange_id: int) -> Row | None:
    """Return the status and the answer so far of an exchange another process may be streaming."""
    return await db.fetch_one("SELECT status, answer FROM exchanges WHERE id = :id", {"id": exchange_id})


async def request_stop(db: Executor, exchange_id: int, owner: str) -> None:
    """Stop an answer: one not yet started ends at once, a streaming one is flagged for its streamer."""
    params = {"id": exchange_id, "owner": owner, "now": utcnow()}
    await db.execute(
        "UPDATE exchanges SET status = 'stopped', answer = '', answered_at = :now"
        " WHERE id = :id AND owner = :owner AND status = 'pending'",
        params,
    )
    await db.execute(
        "UPDATE exchanges SET status = 'stopping' WHERE id = :id AND owner = :owner AND status = 'streaming'",
        params,
    )


async def last_in_conversation(db: Executor, conversation_id: int) -> int | None:
    """Return the id of a conversation's latest exchange."""
    row = await db.fetch_one(
        "SELECT id FROM exchanges WHERE conversation_id = :id ORDER BY id DESC LIMIT 1",
        {"id": conversation_id},
    )
    return row["id"] if row else None


async def ask_again(db: Executor, exchange_id: int, owner: str, question: str) -> bool:
    """Clear a finished exchange's answer so it is answered anew (to regenerate, retry or edit)."""
    result = await db.execute(
        "UPDATE exchanges SET question = :question, answer = NULL, status = 'pending', model = NULL,"
        " prompt_tokens = NULL, completion_tokens = NULL, latency_ms = NULL, error = NULL,"
        " answered_at = NULL, created_at = :now"
        " WHERE id = :id AND owner = :owner AND status IN ('done', 'error', 'stopped', 'interrupted')",
        {"id": exchange_id, "owner": owner, "question": question, "now": utcnow()},
    )
    return result.rowcount == 1


async def context(db: Executor, conversation_id: int, before_id: int, limit: int) -> list[Row]:
    """Return the last answered exchanges before one, oldest first, to give the model context."""
    if limit <= 0:
        return []
    rows = await db.fetch_all(
        "SELECT question, answer FROM exchanges"
        " WHERE conversation_id = :conversation_id AND id < :before"
        " AND status IN ('done', 'stopped', 'interrupted') AND answer IS NOT NULL"
        " ORDER BY id DESC LIMIT :limit",
        {"conversation_id": conversation_id, "before": before_id, "limit": limit},
    )
    rows.reverse()
    return rows


async def in_conversation(db: Executor, conversation_id: int) -> list[Row]:
    """Return every exchange of a conversation, oldest first."""
    return await db.fetch_all(
        f"SELECT {_COLUMNS} FROM exchanges WHERE conversation_id = :id ORDER BY id",
        {"id": conversation_id},
    )

