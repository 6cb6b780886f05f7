"""Retention: exchanges past RETENTION_DAYS deleted in batches (kept chats spared), and erasing a person."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from quart import Quart

from ..config import Config
from . import audit, ledger, shares, titles
from .base import Database, Executor
from .dialects import TIME_FORMAT

log = logging.getLogger(__name__)

BATCH = 1000
# How often each instance sweeps; sweeping twice at once deletes nothing twice.
SWEEP_SECONDS = 3600.0


@dataclass(slots=True)
class Swept:
    """What one sweep deleted."""

    exchanges: int = 0
    conversations: int = 0
    copied: int = 0


async def sweep(db: Database, days: int, batch: int = BATCH, spare_api: bool = False) -> Swept:
    """Delete exchanges asked over `days` ago, oldest first, a batch per transaction, and chats left empty.

    Kept chats are spared, and API calls too when `spare_api` (RETENTION_SPARES_API_CALLS).
    """
    cutoff = (datetime.now(UTC) - timedelta(days=days)).strftime(TIME_FORMAT)
    swept = Swept()
    after: tuple[str, int] = ("0001-01-01 00:00:00.000000", 0)
    while True:
        rows = await db.fetch_all(
            "SELECT e.id, e.created_at, e.conversation_id, c.keep, c.api FROM exchanges e"
            " JOIN conversations c ON c.id = e.conversation_id"
            " WHERE e.created_at < :cutoff AND (e.created_at > :at OR (e.created_at = :at AND e.id > :id))"
            " ORDER BY e.created_at, e.id LIMIT :batch",
            {"cutoff": cutoff, "at": after[0], "id": after[1], "batch": batch},
        )
        if not rows:
            break
        last = rows[-1]
        after = (_stored(last["created_at"]), last["id"])
        gone = [row for row in rows if not row["keep"] and not (spare_api and row["api"])]
        doomed = [row["id"] for row in gone]
        if doomed:
            chats = {row["conversation_id"] for row in gone}
            swept.exchanges += await db.transact(partial(_sweep_exchanges, ids=doomed, cutoff=cutoff))
            swept.conversations += await _empty_chats(db, chats, cutoff)
        if len(rows) < batch:
            break
    # Shared copies hold the same exchanges: they go from every copy too.
    swept.copied = await shares.sweep(db, cutoff, batch)
    log.info(
        "retention: deleted %d exchanges and %d chats older than %d days (and %d from shared copies)",
        swept.exchanges,
        swept.conversations,
        days,
        swept.copied,
    )
    return swept


async def erase_owner(db: Database, owner: str) -> int:
    """Delete every chat (so every exchange), folder, session and API key of an owner; return exchanges gone.

    Their lines in the usage ledger stay, no longer theirs, so the totals stay true.
    """

    async def erase(tx: Executor) -> int:
        gone = await tx.execute("DELETE FROM exchanges WHERE owner = :owner", {"owner": owner})
        await tx.execute("DELETE FROM conversations WHERE owner = :owner", {"owner": owner})
        await tx.execute("DELETE FROM folders WHERE owner = :owner", {"owner": owner})
        await tx.execute("DELETE FROM sessions WHERE owner = :owner", {"owner": owner})
        await tx.execute("DELETE FROM places WHERE owner = :owner", {"owner": owner})
        await ledger.anonymise(tx, owner)
        await tx.execute(
            "DELETE FROM api_keys WHERE user_id IN (SELECT id FROM users WHERE owner = :owner)",
            {"owner": owner},
        )
        return gone.rowcount

    return await db.transact(erase)


async def _empty_chats(db: Database, chats: set[int], cutoff: str) -> int:
    """Delete those of these chats, not kept and untouched since the cutoff, that have no exchange left."""
    params = {f"c{number}": chat for number, chat in enumerate(sorted(chats))}
    names = ", ".join(f":{name}" for name in params)
    empty = await db.fetch_all(
        f"SELECT c.id FROM conversations c WHERE c.id IN ({names}) AND c.keep = 0 AND c.updated_at < :cutoff"
        " AND NOT EXISTS (SELECT 1 FROM exchanges e WHERE e.conversation_id = c.id)",
        {**params, "cutoff": cutoff},
    )
    if not empty:
        return 0
    return await db.transact(partial(_delete, table="conversations", ids=[row["id"] for row in empty]))


async def _sweep_exchanges(tx: Executor, ids: list[int], cutoff: str) -> int:
    """Delete these exchanges; a title made from one of their questions goes with them."""
    made = await titles.made_from(tx, ids)
    deleted = await _delete(tx, "exchanges", ids)
    await titles.replace_swept(tx, made, cutoff)
    return deleted


async def _delete(tx: Executor, table: str, ids: list[int]) -> int:
    params = {f"i{number}": value for number, value in enumerate(ids)}
    result = await tx.execute(
        f"DELETE FROM {table} WHERE id IN ({', '.join(':' + name for name in params)})", params
    )
    return result.rowcount


def _stored(value: object) -> str:
    return value.strftime(TIME_FORMAT) if isinstance(value, datetime) else str(value)


def init_app(app: Quart) -> None:
    """Sweep at start-up and then every SWEEP_SECONDS, as RETENTION_DAYS and AUDIT_RETENTION_DAYS say at
    each pass (a change on the settings page wakes it at once)."""

    @app.while_serving
    async def retention() -> AsyncGenerator[None]:
        changed = asyncio.Event()
        days = (app.config["ANSWERS"].retention_days, app.config["ANSWERS"].audit_retention_days)

        def wake(config: Config) -> None:
            nonlocal days
            if (config.retention_days, config.audit_retention_days) != days:
                days = (config.retention_days, config.audit_retention_days)
                changed.set()

        listeners = app.extensions["settings"].listeners if "settings" in app.extensions else []
        listeners.append(wake)
        task = asyncio.create_task(_keep_sweeping(app, changed))
        try:
            yield
        finally:
            listeners.remove(wake)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _keep_sweeping(app: Quart, changed: asyncio.Event) -> None:
    while True:
        config = app.config["ANSWERS"]
        days, audit_days = config.retention_days, config.audit_retention_days
        try:
            if days:
                await sweep(app.extensions["db"], days, spare_api=config.retention_spares_api)
            if audit_days and (lines := await audit.sweep(app.extensions["db"], audit_days)):
                log.info("retention: deleted %d audit lines older than %d days", lines, audit_days)
        except Exception:
            log.exception("retention sweep failed; trying again later")
        changed.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), SWEEP_SECONDS)
