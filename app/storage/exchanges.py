"""Queries on exchanges: one question, its answer, and how the answer went."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from . import events, ledger, outbox
from .base import Database, Executor, Row, one_of_these
from .dialects import TIME_FORMAT, utc_in, utcnow
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
    "tokens_estimated",
    "deleted_at",
    # Asked through the API: the name of the key that asked (None: asked in the browser), and
    # the tools the model called, as JSON.
    "key_name",
    "tool_calls",
)
SELECT = ", ".join(COLUMNS)
# An exchange its owner still sees: neither it nor its chat deleted by them.
SHOWN = (
    "e.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM conversations c"
    " WHERE c.id = e.conversation_id AND c.deleted_at IS NOT NULL)"
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
    # The tokens were counted here (the server reported none), not by the server.
    estimated: bool = False
    # The tools the model called instead of (or besides) answering, as JSON (an API call passes them on).
    tool_calls: str | None = None

    def columns(self) -> dict[str, Any]:
        """The outcome as the exchange's columns hold it."""
        values = dataclasses.asdict(self)
        values["tokens_estimated"] = int(values.pop("estimated"))
        return values


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
    key_name: str | None = None,
    api_request: str | None = None,
) -> Row:
    """Store a question as pending (asked `now`, by default the current time); return its row as `get` would.

    The conversation becomes the most recently active one, unless `touched` says it
    was made so at this same `now` already (created, or touched by the asker). A question nobody claims
    within `claim_within` seconds is answered by the sweeper. It follows the exchange
    `parent_id` (0: it opens the conversation; None: the conversation's newest exchange);
    exchanges with one parent are versions of one another. A question asked through the API
    names its key (`key_name`) and keeps the whole request it came in (`api_request`, JSON).
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
        "key_name": key_name,
    }
    result = await db.execute(
        "INSERT INTO exchanges"
        " (conversation_id, parent_id, owner, question, status, ask_key, created_at, lease_until, model,"
        " server, instructions, temperature, key_name, api_request) VALUES (:conversation_id, :parent_id,"
        " :owner, :question, :pending, :ask_key, :created_at, :claim_by, :model, :server, :instructions,"
        " :temperature, :key_name, :api_request)",
        values
        | {
            "pending": Status.PENDING,
            "ask_key": ask_key,
            "claim_by": utc_in(claim_within),
            "api_request": api_request,
        },
    )
    if not touched:
        await db.execute(
            "UPDATE conversations SET updated_at = :now WHERE id = :id",
            {"now": now, "id": conversation_id},
        )
    assert result.lastrowid is not None
    await ledger.record(db, result.lastrowid, owner, now, model, server, key_name)
    return row(id=result.lastrowid, status=Status.PENDING.value, tokens_estimated=0, **values)


async def get(db: Executor, exchange_id: int, owner: str) -> Row | None:
    """Return the owner's exchange, or None (also when they deleted it or its chat)."""
    return await db.fetch_one(
        f"SELECT {SELECT} FROM exchanges e WHERE id = :id AND owner = :owner AND {SHOWN}",
        {"id": exchange_id, "owner": owner},
    )


async def delete(db: Executor, exchange_id: int, owner: str, erase: bool = False) -> bool:
    """Delete one of the owner's exchanges: hidden from them (erased when `erase`); False if not theirs.

    The exchanges that followed it follow the one it followed, so their branch stays whole.
    An answer still being written is stopped. What it spent stays in the usage ledger.
    """
    found = await db.fetch_one(
        f"SELECT conversation_id, parent_id FROM exchanges e WHERE id = :id AND owner = :owner AND {SHOWN}",
        {"id": exchange_id, "owner": owner},
    )
    if found is None:
        return False
    await db.execute(
        "UPDATE exchanges SET parent_id = :parent_id WHERE conversation_id = :conversation_id"
        " AND parent_id = :id",
        {"id": exchange_id, **found},
    )
    if erase:
        result = await db.execute(
            "DELETE FROM exchanges WHERE id = :id AND owner = :owner", {"id": exchange_id, "owner": owner}
        )
        return result.rowcount == 1
    await request_stop(db, exchange_id, owner)
    result = await db.execute(
        "UPDATE exchanges SET deleted_at = :now WHERE id = :id AND owner = :owner AND deleted_at IS NULL",
        {"id": exchange_id, "owner": owner, "now": utcnow()},
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


# What an exchange.finished event takes from the exchange as it was claimed (the rest is the outcome).
EVENT_FIELDS = ("conversation_id", "parent_id", "owner", "question", "key_name", "server", "created_at")


def finished_event(exchange: Row) -> dict[str, Any]:
    """What a run's outcome carries (into the spool too) to add its exchange.finished event when stored."""
    fields = {name: exchange.get(name) for name in EVENT_FIELDS}
    if not isinstance(fields["created_at"], str | None):
        fields["created_at"] = fields["created_at"].strftime(TIME_FORMAT)
    return {"event_id": outbox.new_event_id(), "exchange": fields}


async def finish(
    db: Executor,
    exchange_id: int,
    outcome: Outcome,
    token: str | None = None,
    event: dict[str, Any] | None = None,
) -> None:
    """Write how the answer ended (if the run holding `token` still owns it); twice changes nothing more.

    A run swept as interrupted while it was still alive still writes its end; one whose
    question was asked again meanwhile does not overwrite the new answer. The `event`
    (from `finished_event`) is added to the webhook outbox with the write, once.
    """
    owned = "" if token is None else " AND lease_owner = :token"
    written = await db.execute(
        "UPDATE exchanges SET answer = :answer, status = :status, model = :model,"
        " prompt_tokens = :prompt_tokens, completion_tokens = :completion_tokens,"
        " tokens_estimated = :estimated, latency_ms = :latency_ms, error = :error, answered_at = :now,"
        f" tool_calls = :tool_calls WHERE id = :id{owned}",
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
            "estimated": int(outcome.estimated),
            "tool_calls": outcome.tool_calls,
        },
    )
    # What was spent is counted even when the exchange was erased meanwhile.
    if written.rowcount == 1 or await status(db, exchange_id) is None:
        await ledger.settle(
            db,
            exchange_id,
            {
                "status": outcome.status,
                "model": outcome.model,
                "prompt_tokens": outcome.prompt_tokens,
                "completion_tokens": outcome.completion_tokens,
                "estimated": outcome.estimated,
                "latency_ms": outcome.latency_ms,
            },
        )
    if written.rowcount == 1 and event is not None:
        exchange = event["exchange"] | outcome.columns() | {"id": exchange_id}
        await _add_finished(db, exchange, event["event_id"])


async def _add_finished(db: Executor, exchange: Row, event_id: str | None = None) -> None:
    person = await db.fetch_one(
        "SELECT username FROM users WHERE owner = :owner", {"owner": exchange["owner"]}
    )
    payload = events.exchange_finished(exchange | {"person": person["username"] if person else None})
    await outbox.add(db, events.EXCHANGE_FINISHED, payload, event_id=event_id)


async def sweep(db: Database, lapsed_before: str) -> list[Row]:
    """End the answers whose lease lapsed before a time: stopped if asked to stop, else interrupted.

    The text saved so far stays, and each ending is an exchange.finished event, in its transaction.
    Returns the exchanges this sweep finished, as they now are.
    """
    now = utcnow()
    ended = []
    for live, ending in ((Status.STREAMING, Status.INTERRUPTED), (Status.STOPPING, Status.STOPPED)):
        params = {"live": live, "ending": ending, "now": now, "lapsed_before": lapsed_before}
        lapsed = await db.fetch_all(
            f"SELECT {SELECT} FROM exchanges WHERE status = :live AND lease_until < :lapsed_before", params
        )
        for found in lapsed:
            # One by one: of two sweepers at once, each exchange is ended (and counted) by one.
            if await db.transact(partial(_end, found=found, params=params)):
                ended.append(found | {"status": ending.value, "answered_at": now})
    return ended


async def _end(tx: Executor, *, found: Row, params: dict[str, Any]) -> bool:
    result = await tx.execute(
        "UPDATE exchanges SET status = :ending, answered_at = :now"
        " WHERE id = :id AND status = :live AND lease_until < :lapsed_before",
        params | {"id": found["id"]},
    )
    if result.rowcount != 1:
        return False
    await ledger.ended(tx, found["id"], params["ending"])
    await _add_finished(tx, found | {"status": params["ending"], "answered_at": params["now"]})
    return True


async def estimate(db: Executor, exchange_id: int, prompt_tokens: int, completion_tokens: int) -> None:
    """Give an ended exchange that has no token counts an estimate of them (a count written since stays)."""
    await db.execute(
        "UPDATE exchanges SET prompt_tokens = :prompt_tokens, completion_tokens = :completion_tokens,"
        " tokens_estimated = 1 WHERE id = :id AND prompt_tokens IS NULL AND completion_tokens IS NULL",
        {"id": exchange_id, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    )
    await ledger.estimate(db, exchange_id, prompt_tokens, completion_tokens)


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


async def progress_of(db: Executor, exchange_ids: Iterable[int]) -> dict[int, Row]:
    """`progress` of many exchanges in one statement, by id (those that no longer exist left out)."""
    listed, params = one_of_these("id", exchange_ids)
    rows = await db.fetch_all(f"SELECT {SELECT} FROM exchanges WHERE id IN {listed}", params)
    return {found["id"]: found for found in rows}


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
    never_started = await db.execute(
        "UPDATE exchanges SET status = :stopped, answer = '', answered_at = :now"
        " WHERE id = :id AND owner = :owner AND status = :pending",
        params,
    )
    if never_started.rowcount == 1:
        await ledger.ended(db, exchange_id, Status.STOPPED)
    await db.execute(
        "UPDATE exchanges SET status = :stopping WHERE id = :id AND owner = :owner AND status = :streaming",
        params,
    )


async def request_live_stop(db: Executor, conversation_id: int, owner: str) -> None:
    """Stop every answer of the owner's conversation still waiting or being written."""
    live, params = one_of("live", LIVE)
    for found in await db.fetch_all(
        f"SELECT id FROM exchanges WHERE conversation_id = :id AND owner = :owner AND status IN {live}",
        {"id": conversation_id, "owner": owner, **params},
    ):
        await request_stop(db, found["id"], owner)


async def in_conversation_has(db: Executor, conversation_id: int, exchange_id: int) -> bool:
    """Whether the exchange belongs to the conversation."""
    found = await db.fetch_one(
        "SELECT id FROM exchanges WHERE id = :id AND conversation_id = :conversation_id"
        " AND deleted_at IS NULL",
        {"id": exchange_id, "conversation_id": conversation_id},
    )
    return found is not None


async def followed(db: Executor, conversation_id: int, exchange_id: int) -> bool:
    """Whether any exchange follows this one in its conversation (a follow-up, in any branch)."""
    found = await db.fetch_one(
        "SELECT id FROM exchanges WHERE conversation_id = :conversation_id AND parent_id = :id LIMIT 1",
        {"conversation_id": conversation_id, "id": exchange_id},
    )
    return found is not None


async def last_in_conversation(db: Executor, conversation_id: int) -> int | None:
    """Return the id of a conversation's latest exchange (of those its owner has not deleted)."""
    found = await db.fetch_one(
        "SELECT id FROM exchanges WHERE conversation_id = :id AND deleted_at IS NULL"
        " ORDER BY id DESC LIMIT 1",
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
    """Every exchange of a conversation its owner has not deleted, as its id and parent, oldest first."""
    return await db.fetch_all(
        "SELECT id, parent_id FROM exchanges WHERE conversation_id = :id AND deleted_at IS NULL ORDER BY id",
        {"id": conversation_id},
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
        "SELECT id, conversation_id, parent_id FROM exchanges"
        f" WHERE ({' OR '.join(where)}) AND deleted_at IS NULL ORDER BY id",
        params,
    )
    siblings: dict[tuple[int, int], list[int]] = {}
    for exchange in found:
        siblings.setdefault((exchange["conversation_id"], exchange["parent_id"]), []).append(exchange["id"])
    versions = {}
    for exchange in exchanges:
        same = siblings.get((exchange["conversation_id"], exchange["parent_id"]), [])
        # One its owner deleted (shown to an admin) stands alone.
        versions[exchange["id"]] = same if exchange["id"] in same else [exchange["id"]]
    return versions


async def in_conversation(db: Executor, conversation_id: int, before: int | None, limit: int) -> list[Row]:
    """Return up to `limit` exchanges of a conversation older than `before` (any, when None), newest first.

    Those its owner deleted are left out.
    """
    older = "" if before is None else " AND id < :before"
    return await db.fetch_all(
        f"SELECT {SELECT} FROM exchanges WHERE conversation_id = :id AND deleted_at IS NULL{older}"
        " ORDER BY id DESC LIMIT :limit",
        {"id": conversation_id, "before": before, "limit": limit},
    )
