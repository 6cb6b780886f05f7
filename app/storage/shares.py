"""Queries on shared links: each opens a copy of a chat's branch, a copy its links to the same state share."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from functools import partial

import orjson

from .base import Database, Executor, Row, one_of_these
from .conversations import title_from
from .dialects import TIME_FORMAT, utcnow
from .titles import replace

# Who may open a link: people who may use this app, or anyone who has it (when the operator allows).
TEAMMATES = "teammates"
ANYONE = "anyone"
AUDIENCES = (TEAMMATES, ANYONE)
# What a copy keeps of each exchange: nothing about its owner, nothing of the other versions.
KEPT = ("question", "answer", "status", "error", "model", "server", "created_at", "answered_at", "files")
_COLUMNS = ", ".join(KEPT)


def copied(exchange: Row) -> Row:
    """The part of an exchange a copy keeps, times as stored text (its files' names, not the files)."""
    return {name: _stored(exchange[name]) if name.endswith("_at") else exchange.get(name) for name in KEPT}


def digest(conversation_id: int, title: str, exchanges: Iterable[Row]) -> str:
    """What tells two copies of one chat apart: the same title and exchanges give the same digest."""
    state = [conversation_id, title, [[exchange[name] for name in KEPT] for exchange in exchanges]]
    return hashlib.sha256(orjson.dumps(state)).hexdigest()


async def hold(db: Executor, conversation_id: int) -> None:
    """Hold the chat until the transaction ends, so that its links are counted and made one at a time."""
    await db.execute("UPDATE conversations SET keep = keep WHERE id = :id", {"id": conversation_id})


async def open_links(db: Executor, conversation_id: int, owner: str) -> tuple[int, int]:
    """How many links are open to this chat, and to all the owner's chats."""
    row = await db.fetch_one(
        "SELECT COUNT(*) AS mine, SUM(CASE WHEN conversation_id = :id THEN 1 ELSE 0 END) AS here"
        " FROM shares WHERE owner = :owner",
        {"id": conversation_id, "owner": owner},
    )
    return (int(row["here"] or 0), int(row["mine"] or 0)) if row else (0, 0)


async def snapshot(db: Executor, conversation_id: int, title: str, exchanges: list[Row]) -> int:
    """The copy of this state of the chat: the one already made, or a new one."""
    rows = [copied(exchange) for exchange in exchanges]
    key = digest(conversation_id, title, rows)
    found = await db.fetch_one("SELECT id FROM share_snapshots WHERE hash = :hash", {"hash": key})
    if found is not None:
        return int(found["id"])
    made = await db.execute(
        "INSERT INTO share_snapshots (conversation_id, hash, title, created_at)"
        " VALUES (:conversation_id, :hash, :title, :now)",
        {"conversation_id": conversation_id, "hash": key, "title": title, "now": utcnow()},
    )
    assert made.lastrowid is not None
    for seq, row in enumerate(rows):
        await db.execute(
            f"INSERT INTO shared_exchanges (snapshot_id, seq, {_COLUMNS})"
            f" VALUES (:snapshot_id, :seq, {', '.join(':' + name for name in KEPT)})",
            {"snapshot_id": made.lastrowid, "seq": seq, **row},
        )
    return made.lastrowid


async def create(
    db: Executor, token: str, snapshot_id: int, conversation_id: int, owner: str, audience: str
) -> int:
    """Store a link to a copy under its token; its id."""
    made = await db.execute(
        "INSERT INTO shares (token, snapshot_id, conversation_id, owner, audience, created_at)"
        " VALUES (:token, :snapshot_id, :conversation_id, :owner, :audience, :now)",
        {
            "token": token,
            "snapshot_id": snapshot_id,
            "conversation_id": conversation_id,
            "owner": owner,
            "audience": audience,
            "now": utcnow(),
        },
    )
    assert made.lastrowid is not None
    return made.lastrowid


async def get(db: Executor, token: str) -> Row | None:
    """The copy a token opens unless its chat was deleted: title, when shared, for whom (not its owner)."""
    return await db.fetch_one(
        "SELECT l.snapshot_id, l.audience, l.created_at, s.title FROM shares l"
        " JOIN share_snapshots s ON s.id = l.snapshot_id JOIN conversations c ON c.id = s.conversation_id"
        " WHERE l.token = :token AND c.deleted_at IS NULL",
        {"token": token},
    )


async def exchanges_of(db: Executor, snapshot_id: int) -> list[Row]:
    """The exchanges a copy holds, in the order they were on screen."""
    return await db.fetch_all(
        f"SELECT {_COLUMNS} FROM shared_exchanges WHERE snapshot_id = :id ORDER BY seq", {"id": snapshot_id}
    )


async def of_conversation(db: Executor, conversation_id: int, owner: str) -> list[Row]:
    """The owner's open links to one conversation, newest first, with how much each copy holds."""
    return await db.fetch_all(
        "SELECT l.id, l.token, l.audience, l.created_at,"
        " (SELECT COUNT(*) FROM shared_exchanges e WHERE e.snapshot_id = l.snapshot_id) AS exchanges"
        " FROM shares l WHERE l.conversation_id = :id AND l.owner = :owner ORDER BY l.id DESC",
        {"id": conversation_id, "owner": owner},
    )


async def find(db: Executor, token: str, owner: str) -> Row | None:
    """One of the owner's links, by its token."""
    return await db.fetch_one(
        "SELECT id, conversation_id, snapshot_id, audience FROM shares"
        " WHERE token = :token AND owner = :owner",
        {"token": token, "owner": owner},
    )


async def revoke(db: Executor, link: Row) -> None:
    """Close a link for good, and drop its copy when no other link opens it."""
    await db.execute("DELETE FROM shares WHERE id = :id", {"id": link["id"]})
    await db.execute(
        "DELETE FROM share_snapshots WHERE id = :id AND NOT EXISTS"
        " (SELECT 1 FROM shares WHERE snapshot_id = :id)",
        {"id": link["snapshot_id"]},
    )


def _stored(value: object) -> object:
    return value.strftime(TIME_FORMAT) if isinstance(value, datetime) else value


async def sweep(db: Database, cutoff: str, batch: int) -> int:
    """Delete from every copy, a batch at a time, what retention sweeps: asked before `cutoff`, chat not kept.

    A copy titled after a question it lost takes its next question's title; a copy left
    empty goes, and its links with it. Return how many copied exchanges went.
    """
    gone = 0
    while True:
        rows = await db.fetch_all(
            "SELECT e.id, e.snapshot_id, e.question FROM shared_exchanges e"
            " JOIN share_snapshots s ON s.id = e.snapshot_id JOIN conversations c ON c.id = s.conversation_id"
            " WHERE e.created_at < :cutoff AND c.keep = 0 ORDER BY e.created_at, e.id LIMIT :batch",
            {"cutoff": cutoff, "batch": batch},
        )
        if not rows:
            return gone
        gone += await db.transact(partial(_forget, rows=rows, cutoff=cutoff))
        if len(rows) < batch:
            return gone


async def _forget(tx: Executor, rows: list[Row], cutoff: str) -> int:
    ids, params = one_of_these("id", [row["id"] for row in rows])
    deleted = await tx.execute(f"DELETE FROM shared_exchanges WHERE id IN {ids}", params)
    swept: dict[int, set[str]] = {}
    for row in rows:
        swept.setdefault(row["snapshot_id"], set()).add(title_from(row["question"]))
    for snapshot_id, titles in swept.items():
        # A copy that lost exchanges no longer matches the state it was made of.
        await tx.execute("UPDATE share_snapshots SET hash = NULL WHERE id = :id", {"id": snapshot_id})
        await replace(tx, "share_snapshots", snapshot_id, titles, cutoff)
        await tx.execute(
            "DELETE FROM share_snapshots WHERE id = :id AND NOT EXISTS"
            " (SELECT 1 FROM shared_exchanges WHERE snapshot_id = :id)",
            {"id": snapshot_id},
        )
    return deleted.rowcount
