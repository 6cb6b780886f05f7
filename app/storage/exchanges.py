"""Queries on exchanges: one question, its answer, and how the answer went."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .base import Executor, Row
from .dialects import utc_in, utcnow
from .status import CONTEXT, LIVE, Status

# The shape of an exchange as every query returns it.
COLUMNS = (
    "id",
    "conversation_id",
    "parent_id",
    "owner",
    "question",
    "answer",
    "status",
    "model",
    "server",
    "instructions",
    "temperature",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "error",
    "created_at",
    "answered_at",
)
SELECT = ", ".join(COLUMNS)


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


def row(**values: Any) -> Row:
    """An exchange with the given values and every other column empty."""
    return dict.fromkeys(COLUMNS) | values


def one_of(name: str, statuses: Iterable[Status]) -> tuple[str, dict[str, Status]]:
    """`IN (…)` over some statuses, as SQL with named parameters and the parameters."""
    params = {f"{name}_{number}": status for number, status in enumerate(sorted(statuses))}
    return "(" + ", ".join(f":{key}" for key in params) + ")", params


async def create(
    db: Executor,
    conversation_id: int,
    owner: str,
    question: str,
    ask_key: str | None = None,
    *,
    now: str | None = None,
    touched: bool = False,
    claim_within: float = 15.0,
    model: str | None = None,
    server: str | None = None,
    instructions: str | None = None,
    temperature: float | None = None,
    parent_id: int | None = None,
) -> Row:
    """Store a question as pending (asked `now`, by default the current time); return its row as `get` would.

    The conversation becomes the most recently active one, unless `touched` says it
    was made so at this same `now` already (created, or touched by the asker). A question nobody claims
    within `claim_within` seconds is answered by the sweeper. It follows the exchange
    `parent_id` (0: it opens the conversation; None: the conversation's newest exchange);
    exchanges with one parent are versions of one another.
    """
    now = now or utcnow()
    if parent_id is None:
        parent_id = await last_in_conversation(db, conversation_id) or 0
    values = {
        "conversation_id": conversation_id,
        "parent_id": parent_id,
        "owner": owner,
        "question": question,
        "model": model,
        "server": server,
        "instructions": instructions,
        "temperature": temperature,
        "created_at": now,
    }
    result = await db.execute(
        "INSERT INTO exchanges"
        " (conversation_id, parent_id, owner, question, status, ask_key, created_at, lease_until, model,"
        " server, instructions, temperature) VALUES (:conversation_id, :parent_id, :owner, :question,"
        " :pending, :ask_key, :created_at, :claim_by, :model, :server, :instructions, :temperature)",
        values | {"pending": Status.PENDING, "ask_key": ask_key, "claim_by": utc_in(claim_within)},
    )
    if not touched:
        await db.execute(
            "UPDATE conversations SET updated_at = :now WHERE id = :id",
            {"now": now, "id": conversation_id},
        )
    assert result.lastrowid is not None
    return row(id=result.lastrowid, status=Status.PENDING.value, **values)


async def get(db: Executor, exchange_id: int, owner: str) -> Row | None:
    """Return the owner's exchange, or None."""
    return await db.fetch_one(
        f"SELECT {SELECT} FROM exchanges WHERE id = :id AND owner = :owner",
        {"id": exchange_id, "owner": owner},
    )


async def delete(db: Executor, exchange_id: int, owner: str) -> bool:
    """Delete one of the owner's exchanges; False if it is not theirs or is gone.

    The exchanges that followed it follow the one it followed, so their branch stays whole.
    """
    found = await db.fetch_one(
        "SELECT conversation_id, parent_id FROM exchanges WHERE id = :id AND owner = :owner",
        {"id": exchange_id, "owner": owner},
    )
    if found is None:
        return False
    await db.execute(
        "UPDATE exchanges SET parent_id = :parent_id WHERE conversation_id = :conversation_id"
        " AND parent_id = :id",
        {"id": exchange_id, **found},
    )
    result = await db.execute(
        "DELETE FROM exchanges WHERE id = :id AND owner = :owner", {"id": exchange_id, "owner": owner}
    )
    return result.rowcount == 1


async def by_ask_key(db: Executor, owner: str, ask_key: str) -> Row | None:
    """Return the owner's exchange stored from the composer form with this key, or None."""
    return await db.fetch_one(
        f"SELECT {SELECT} FROM exchanges WHERE owner = :owner AND ask_key = :ask_key",
        {"owner": owner, "ask_key": ask_key},
    )


async def claim(db: Executor, exchange_id: int, token: str, until: str) -> bool:
    """Mark a pending exchange as streaming, leased to `token` until `until`; one claimant ever wins.

    A claim whose reply was lost is settled by reading the lease's holder (`holder`), not
    by this row count: a claim repeated after it landed matches no pending row.
    """
    result = await db.execute(
        "UPDATE exchanges SET status = :streaming, lease_owner = :token, lease_until = :until"
        " WHERE id = :id AND status = :pending",
        {
            "id": exchange_id,
            "token": token,
            "until": until,
            "streaming": Status.STREAMING,
            "pending": Status.PENDING,
        },
    )
    return result.rowcount == 1


async def holder(db: Executor, exchange_id: int) -> str | None:
    """The token holding an exchange's lease, if any."""
    found = await db.fetch_one("SELECT lease_owner FROM exchanges WHERE id = :id", {"id": exchange_id})
    return found["lease_owner"] if found else None


async def renew(db: Executor, exchange_id: int, token: str, until: str, answer: str | None) -> bool:
    """Extend a streaming answer's lease, saving its text when given; False once it is not this run's.

    It stops being this run's when someone asked to stop it, a sweeper found its lease
    lapsed, or it was asked again.
    """
    text = ", answer = :answer" if answer is not None else ""
    result = await db.execute(
        f"UPDATE exchanges SET lease_until = :until{text}"
        " WHERE id = :id AND status = :streaming AND lease_owner = :token",
        {"id": exchange_id, "token": token, "until": until, "answer": answer, "streaming": Status.STREAMING},
    )
    return result.rowcount == 1


async def finish(db: Executor, exchange_id: int, outcome: Outcome, token: str | None = None) -> None:
    """Write how the answer ended (if the run holding `token` still owns it); twice changes nothing more.

    A run swept as interrupted while it was still alive still writes its end; one whose
    question was asked again meanwhile does not overwrite the new answer.
    """
    owned = "" if token is None else " AND lease_owner = :token"
    await db.execute(
        "UPDATE exchanges SET answer = :answer, status = :status, model = :model,"
        " prompt_tokens = :prompt_tokens, completion_tokens = :completion_tokens,"
        f" latency_ms = :latency_ms, error = :error, answered_at = :now WHERE id = :id{owned}",
        {
            "id": exchange_id,
            "token": token,
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


async def sweep(db: Executor, lapsed_before: str) -> int:
    """End the answers whose lease lapsed before a time: stopped if asked to stop, else interrupted.

    The text saved so far stays. Returns how many were finished.
    """
    now = utcnow()
    ended = 0
    for live, ending in ((Status.STREAMING, Status.INTERRUPTED), (Status.STOPPING, Status.STOPPED)):
        result = await db.execute(
            "UPDATE exchanges SET status = :ending, answered_at = :now"
            " WHERE status = :live AND lease_until < :lapsed_before",
            {"live": live, "ending": ending, "now": now, "lapsed_before": lapsed_before},
        )
        ended += result.rowcount
    return ended


async def unclaimed(db: Executor, lapsed_before: str, limit: int) -> list[Row]:
    """Pending exchanges nobody claimed before a time, oldest first."""
    return await db.fetch_all(
        f"SELECT {SELECT} FROM exchanges WHERE status = :pending AND lease_until < :lapsed_before"
        " ORDER BY lease_until LIMIT :limit",
        {"pending": Status.PENDING, "lapsed_before": lapsed_before, "limit": limit},
    )


async def status(db: Executor, exchange_id: int) -> Status | None:
    """Return an exchange's status (a cheap look-up by primary key)."""
    found = await db.fetch_one("SELECT status FROM exchanges WHERE id = :id", {"id": exchange_id})
    return Status(found["status"]) if found else None


async def progress(db: Executor, exchange_id: int) -> Row | None:
    """Return an exchange another process may be streaming, with its status and answer so far."""
    return await db.fetch_one(f"SELECT {SELECT} FROM exchanges WHERE id = :id", {"id": exchange_id})


async def request_stop(db: Executor, exchange_id: int, owner: str) -> None:
    """Stop an answer: one not yet started ends at once, a streaming one is flagged for its streamer."""
    params = {
        "id": exchange_id,
        "owner": owner,
        "now": utcnow(),
        "pending": Status.PENDING,
        "streaming": Status.STREAMING,
        "stopped": Status.STOPPED,
        "stopping": Status.STOPPING,
    }
    await db.execute(
        "UPDATE exchanges SET status = :stopped, answer = '', answered_at = :now"
        " WHERE id = :id AND owner = :owner AND status = :pending",
        params,
    )
    await db.execute(
        "UPDATE exchanges SET status = :stopping WHERE id = :id AND owner = :owner AND status = :streaming",
        params,
    )


async def in_conversation_has(db: Executor, conversation_id: int, exchange_id: int) -> bool:
    """Whether the exchange belongs to the conversation."""
    found = await db.fetch_one(
        "SELECT id FROM exchanges WHERE id = :id AND conversation_id = :conversation_id",
        {"id": exchange_id, "conversation_id": conversation_id},
    )
    return found is not None


async def last_in_conversation(db: Executor, conversation_id: int) -> int | None:
    """Return the id of a conversation's latest exchange."""
    found = await db.fetch_one(
        "SELECT id FROM exchanges WHERE conversation_id = :id ORDER BY id DESC LIMIT 1",
        {"id": conversation_id},
    )
    return found["id"] if found else None


async def live_in(db: Executor, conversation_id: int) -> int | None:
    """The id of a conversation's answer still pending or being written, if any."""
    live, params = one_of("live", LIVE)
    found = await db.fetch_one(
        f"SELECT id FROM exchanges WHERE conversation_id = :id AND status IN {live} LIMIT 1",
        {"id": conversation_id, **params},
    )
    return found["id"] if found else None


async def context(db: Executor, parent_id: int, limit: int) -> list[Row]:
    """Return the answered exchanges of a branch up to `parent_id`, the last `limit` of them, oldest first."""
    if limit <= 0 or not parent_id:
        return []
    answered, params = one_of("answered", CONTEXT)
    # Up the branch, not by id: the model sees the exchanges on screen, whatever other versions exist.
    rows = await db.fetch_all(
        "WITH RECURSIVE branch (id, parent_id, depth) AS ("
        " SELECT id, parent_id, 1 FROM exchanges WHERE id = :parent_id"
        " UNION ALL SELECT e.id, e.parent_id, branch.depth + 1 FROM exchanges e"
        " JOIN branch ON e.id = branch.parent_id WHERE branch.depth < :depth)"
        " SELECT e.id, e.question, e.answer FROM branch JOIN exchanges e ON e.id = branch.id"
        f" WHERE e.status IN {answered} AND e.answer IS NOT NULL ORDER BY branch.depth LIMIT :limit",
        {"parent_id": parent_id, "depth": 2 * limit, "limit": limit, **params},
    )
    rows.reverse()
    return rows


async def tree(db: Executor, conversation_id: int) -> list[Row]:
    """Every exchange of a conversation as its id and parent, oldest first: the shape of its branches."""
    return await db.fetch_all(
        "SELECT id, parent_id FROM exchanges WHERE conversation_id = :id ORDER BY id", {"id": conversation_id}
    )


async def by_ids(db: Executor, ids: list[int]) -> list[Row]:
    """Return these exchanges, in the order of `ids`."""
    if not ids:
        return []
    params = {f"id_{number}": exchange_id for number, exchange_id in enumerate(ids)}
    found = await db.fetch_all(
        f"SELECT {SELECT} FROM exchanges WHERE id IN ({', '.join(':' + key for key in params)})", params
    )
    by_id = {exchange["id"]: exchange for exchange in found}
    return [by_id[exchange_id] for exchange_id in ids if exchange_id in by_id]


async def versions(db: Executor, exchanges: list[Row]) -> dict[int, list[int]]:
    """For each exchange, the ids of its versions (itself included, oldest first)."""
    groups = {(exchange["conversation_id"], exchange["parent_id"]) for exchange in exchanges}
    if not groups:
        return {}
    params: dict[str, int] = {}
    where = []
    for number, (conversation_id, parent_id) in enumerate(sorted(groups)):
        params |= {f"c_{number}": conversation_id, f"p_{number}": parent_id}
        where.append(f"(conversation_id = :c_{number} AND parent_id = :p_{number})")
    found = await db.fetch_all(
        f"SELECT id, conversation_id, parent_id FROM exchanges WHERE {' OR '.join(where)} ORDER BY id", params
    )
    siblings: dict[tuple[int, int], list[int]] = {}
    for exchange in found:
        siblings.setdefault((exchange["conversation_id"], exchange["parent_id"]), []).append(exchange["id"])
    return {
        exchange["id"]: siblings.get((exchange["conversation_id"], exchange["parent_id"]), [exchange["id"]])
        for exchange in exchanges
    }


async def in_conversation(db: Executor, conversation_id: int, before: int | None, limit: int) -> list[Row]:
    """Return up to `limit` exchanges of a conversation older than `before` (any, when None), newest first."""
    older = "" if before is None else " AND id < :before"
    return await db.fetch_all(
        f"SELECT {SELECT} FROM exchanges WHERE conversation_id = :id{older} ORDER BY id DESC LIMIT :limit",
        {"id": conversation_id, "before": before, "limit": limit},
    )
