"""The webhook outbox: events added in the transaction of what they report, then each endpoint's line.

An event becomes one row per endpoint that takes its type (`webhook_routes`, written as each
instance starts), in a single INSERT … SELECT: with no webhooks configured it adds nothing.
Each endpoint's rows leave in id order, one at a time, by whichever instance holds the
endpoint's lease (`webhook_endpoints`); a row is `pending` until it is `sent`, or `dead` once
its retries ran out. Endpoints are named by a digest of their URL, which may hold a token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson

from .base import Database, Executor, Row
from .dialects import TIME_FORMAT, utcnow

PENDING, SENT, DEAD = "pending", "sent", "dead"
ERROR_CHARS = 255


def endpoint_key(url: str) -> str:
    """The name an endpoint's rows carry: a digest of its URL."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def new_event_id() -> str:
    """A webhook-id: unique, and free of the full stops the signed content is joined with."""
    return "msg_" + secrets.token_hex(12)


def iso(stored: str | datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC, the way events carry times."""
    if stored is None:
        return None
    if isinstance(stored, datetime):
        stored = stored.strftime(TIME_FORMAT)
    return stored.replace(" ", "T") + "Z"


async def add(
    db: Executor, type: str, payload: Mapping[str, Any], *, event_id: str | None = None, at: str | None = None
) -> str:
    """Add an event for every endpoint taking its type, once (an event id already there adds nothing).

    One statement, meant for the transaction of what the event reports. Returns the event's id.
    """
    event_id = event_id or new_event_id()
    now = at or utcnow()
    body = orjson.dumps({"type": type, "timestamp": iso(now), "data": payload}).decode()
    await db.execute(
        "INSERT INTO webhook_outbox (endpoint, event_id, type, body, state, created_at, retry_from, next_at)"
        " SELECT r.endpoint, :event_id, :type, :body, :pending, :now, :now, :now FROM webhook_routes r"
        " WHERE r.type = :type AND NOT EXISTS (SELECT 1 FROM webhook_outbox o"
        " WHERE o.endpoint = r.endpoint AND o.event_id = :event_id)",
        {"event_id": event_id, "type": type, "body": body, "pending": PENDING, "now": now},
    )
    return event_id


async def route(db: Database, routes: Mapping[str, Iterable[str]]) -> None:
    """Say which endpoints take which event types (what this instance's settings say), all at once."""

    async def write(tx: Executor) -> None:
        await tx.execute("DELETE FROM webhook_routes")
        for type, endpoints in routes.items():
            for endpoint in dict.fromkeys(endpoints):
                await tx.execute(
                    "INSERT INTO webhook_routes (type, endpoint) VALUES (:type, :endpoint)",
                    {"type": type, "endpoint": endpoint},
                )
                await tx.execute(
                    "INSERT INTO webhook_endpoints (endpoint) SELECT :endpoint FROM webhook_routes"
                    " WHERE type = :type AND endpoint = :endpoint AND NOT EXISTS"
                    " (SELECT 1 FROM webhook_endpoints WHERE endpoint = :endpoint)",
                    {"type": type, "endpoint": endpoint},
                )

    await db.transact(write)


async def claim(db: Executor, endpoint: str, owner: str, now: datetime, until: datetime) -> bool:
    """Take (or keep) an endpoint's lease until a time, unless another instance holds it still."""
    result = await db.execute(
        "UPDATE webhook_endpoints SET lease_owner = :owner, lease_until = :until WHERE endpoint = :endpoint"
        " AND (lease_owner IS NULL OR lease_owner = :owner OR lease_until < :now)",
        {"endpoint": endpoint, "owner": owner, "until": _stored(until), "now": _stored(now)},
    )
    return result.rowcount == 1


async def release(db: Executor, endpoint: str, owner: str) -> None:
    """Give an endpoint's lease back, if this owner holds it."""
    await db.execute(
        "UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = NULL"
        " WHERE endpoint = :endpoint AND lease_owner = :owner",
        {"endpoint": endpoint, "owner": owner},
    )


async def head(db: Executor, endpoint: str) -> Row | None:
    """An endpoint's next event: its oldest still pending."""
    return await db.fetch_one(
        "SELECT id, event_id, type, body, attempts, retry_from, next_at FROM webhook_outbox"
        " WHERE endpoint = :endpoint AND state = :pending ORDER BY id LIMIT 1",
        {"endpoint": endpoint, "pending": PENDING},
    )


# A row changes only while its endpoint's lease is held by whoever reports on it.
_HELD = (
    " AND EXISTS (SELECT 1 FROM webhook_endpoints e"
    " WHERE e.endpoint = webhook_outbox.endpoint AND e.lease_owner = :owner)"
)


async def mark_sent(db: Executor, row_id: int, owner: str, now: datetime) -> bool:
    """Note that an event reached its endpoint."""
    result = await db.execute(
        "UPDATE webhook_outbox SET state = :sent, sent_at = :now, attempts = attempts + 1, last_error = ''"
        f" WHERE id = :id AND state = :pending{_HELD}",
        {"id": row_id, "owner": owner, "now": _stored(now), "sent": SENT, "pending": PENDING},
    )
    return result.rowcount == 1


async def mark_failed(
    db: Executor, row_id: int, owner: str, error: str, retry_from: datetime, next_at: datetime | None
) -> bool:
    """Note a failed attempt (retries counted from `retry_from`): tried again at `next_at`, or dead."""
    result = await db.execute(
        "UPDATE webhook_outbox SET state = :state, attempts = attempts + 1, last_error = :error,"
        " retry_from = :retry_from, next_at = COALESCE(:next_at, next_at)"
        f" WHERE id = :id AND state = :pending{_HELD}",
        {
            "id": row_id,
            "owner": owner,
            "retry_from": _stored(retry_from),
            "state": PENDING if next_at else DEAD,
            "error": error[:ERROR_CHARS],
            "next_at": _stored(next_at) if next_at else None,
            "pending": PENDING,
        },
    )
    return result.rowcount == 1


async def send_again(
    db: Executor, now: datetime, row_id: int | None = None, endpoint: str | None = None
) -> int:
    """Put a dead event (or every dead event of an endpoint) back in its line, its retries anew."""
    where, params = (
        ("id = :id", {"id": row_id})
        if row_id is not None
        else ("endpoint = :endpoint", {"endpoint": endpoint})
    )
    result = await db.execute(
        "UPDATE webhook_outbox SET state = :pending, attempts = 0, retry_from = :now, next_at = :now,"
        f" last_error = '' WHERE {where} AND state = :dead",
        {**params, "now": _stored(now), "pending": PENDING, "dead": DEAD},
    )
    return result.rowcount


async def counts(db: Executor) -> list[Row]:
    """How many events each endpoint has in each state."""
    return await db.fetch_all(
        "SELECT endpoint, state, COUNT(*) AS n FROM webhook_outbox GROUP BY endpoint, state ORDER BY endpoint"
    )


async def waiting(db: Executor, limit: int) -> list[Row]:
    """The dead and pending events, oldest first, up to `limit` of each state per endpoint."""
    rows: list[Row] = []
    for endpoint in await db.fetch_all("SELECT endpoint FROM webhook_endpoints ORDER BY endpoint"):
        for state in (DEAD, PENDING):
            rows += await db.fetch_all(
                "SELECT id, endpoint, event_id, type, state, created_at, attempts, next_at, last_error"
                " FROM webhook_outbox WHERE endpoint = :endpoint AND state = :state ORDER BY id LIMIT :limit",
                {"endpoint": endpoint["endpoint"], "state": state, "limit": limit},
            )
    return rows


async def sweep_sent(db: Executor, before: datetime, batch: int = 1000) -> int:
    """Delete a batch of events delivered before a time; return how many went."""
    rows = await db.fetch_all(
        "SELECT id FROM webhook_outbox WHERE state = :sent AND sent_at < :before"
        " ORDER BY sent_at LIMIT :batch",
        {"sent": SENT, "before": _stored(before), "batch": batch},
    )
    if not rows:
        return 0
    ids = {f"i{number}": row["id"] for number, row in enumerate(rows)}
    result = await db.execute(
        f"DELETE FROM webhook_outbox WHERE id IN ({', '.join(':' + key for key in ids)})", ids
    )
    return result.rowcount


def _stored(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)
