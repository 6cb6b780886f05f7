"""Writes that must not be lost: retried, else spooled to a local file and replayed later.

The spool is a folder in the instance path. A write the database cannot take is appended
to `pending.jsonl` (one JSON object a line, fsynced before the caller is told it is safe).
Replaying renames that file to `replaying.jsonl`, applies every record, then deletes it;
a process that dies mid-replay leaves `replaying.jsonl` behind and the next replay starts
with it. Records are applied again after such a crash, so every spooled write must be
idempotent (the answer's final UPDATE sets absolute values by id): nothing is applied
twice in effect, and no row is ever inserted from the spool.

Several processes may share the folder: `append.lock` keeps an append and the rename
apart, and `replay.lock` lets one process replay at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from .. import metrics
from ..private import private_folder
from . import exchanges
from .base import Database, DatabaseUnavailable, Executor, atomically
from .exchanges import Outcome

log = logging.getLogger(__name__)


async def _finish(db: Executor, params: dict[str, Any]) -> None:
    params = dict(params)
    exchange_id = params.pop("id")
    # Records spooled before answers held leases carry no token: they are written unconditionally.
    token = params.pop("token", None)
    # The exchange.finished event rides with the write, spooled and replayed with it.
    event = params.pop("event", None)
    outcome = Outcome(**params)
    await atomically(db, lambda tx: exchanges.finish(tx, exchange_id, outcome, token, event), idempotent=True)


# Every kind of write the spool knows how to replay; each must be idempotent.
WRITES: dict[str, Callable[[Executor, dict[str, Any]], Awaitable[None]]] = {"finish": _finish}


class Spool:
    """Durable writes against one database, with a local fallback file."""

    def __init__(self, folder: Path, db: Database, retry_for: float = 3.0, first_delay: float = 0.1) -> None:
        self.folder = folder
        self.db = db
        self.retry_for = retry_for
        self.first_delay = first_delay
        self.pending = folder / "pending.jsonl"
        self.replaying = folder / "replaying.jsonl"
        self.rejected = folder / "rejected.jsonl"
        self._replay_lock = asyncio.Lock()
        # Outcomes this process spooled, so the answer can still be shown while the database is away.
        self._held: dict[int, Outcome] = {}
        self._replayer: asyncio.Task[None] | None = None

    async def finish(
        self,
        exchange_id: int,
        outcome: Outcome,
        token: str | None = None,
        event: dict[str, Any] | None = None,
    ) -> bool:
        """Store how an answer ended (if the run of `token` owns it), and its event; False if spooled."""
        stored = await self.write(
            "finish", {"id": exchange_id, "token": token, **dataclasses.asdict(outcome), "event": event}
        )
        if not stored:
            self._held[exchange_id] = outcome
        return stored

    def take_held(self, exchange_id: int) -> Outcome | None:
        """Hand over (once) an outcome this process spooled for an exchange."""
        return self._held.pop(exchange_id, None)

    async def write(self, kind: str, params: dict[str, Any]) -> bool:
        """Apply a write, retrying with backoff; if the database stays away, spool it and return False."""
        apply = WRITES[kind]
        deadline = time.monotonic() + self.retry_for
        delay = self.first_delay
        while True:
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.05)):
                    await apply(self.db, params)
                return True
            except (DatabaseUnavailable, TimeoutError) as error:
                metrics.database_errors.inc()
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("database unavailable for a %s write (%s); spooling it", kind, error)
                    break
                await asyncio.sleep(min(delay, left))
                delay *= 2
        record = {
            "kind": kind,
            "key": f"{kind}:{params.get('id')}",
            "params": params,
            "spooled_at": time.time(),
        }
        await asyncio.to_thread(self._append, json.dumps(record))
        metrics.spooled_writes.inc()
        return False

    async def count(self) -> int:
        """How many writes wait in the spool (in every process sharing the folder)."""
        return await asyncio.to_thread(
            lambda: len(list(self._records(self.replaying))) + len(list(self._records(self.pending)))
        )

    async def replay(self) -> int:
        """Apply spooled writes in order; stop (keeping the rest) if the database is still away."""
        if self._replay_lock.locked():
            return 0
        async with self._replay_lock:
            with _locked(self.folder / "replay.lock", wait=False) as mine:
                if not mine:
                    return 0
                applied = 0
                if await asyncio.to_thread(self.replaying.exists):
                    applied += await self._apply_file()
                if await asyncio.to_thread(self._claim_pending):
                    applied += await self._apply_file()
                return applied

    def start_replaying(self, interval: float) -> None:
        """Replay now, then every `interval` seconds, until stopped."""
        self._replayer = asyncio.create_task(self._keep_replaying(interval))

    async def stop_replaying(self) -> None:
        """Stop the periodic replays (a replay under way is cancelled; its records stay spooled)."""
        if self._replayer is not None:
            self._replayer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replayer
            self._replayer = None

    async def _keep_replaying(self, interval: float) -> None:
        while True:
            await self._replay_logged()
            await asyncio.sleep(interval)

    async def _replay_logged(self) -> None:
        try:
            if applied := await self.replay():
                log.info("replayed %d spooled write(s)", applied)
        except DatabaseUnavailable as error:
            log.info("spooled writes wait for the database: %s", error)
        except Exception:
            log.exception("replaying spooled writes failed")

    async def _apply_file(self) -> int:
        records = await asyncio.to_thread(lambda: list(self._records(self.replaying)))
        latest = {record["key"]: record for record in records}
        for record in latest.values():
            try:
                await WRITES[record["kind"]](self.db, record["params"])
            except DatabaseUnavailable:
                raise
            except Exception:
                log.exception(
                    "a spooled %s write was refused; moved to %s", record["kind"], self.rejected.name
                )
                await asyncio.to_thread(self._append, json.dumps(record), self.rejected)
            if record["kind"] == "finish":
                self._held.pop(record["params"]["id"], None)
        await asyncio.to_thread(self.replaying.unlink)
        return len(latest)

    def _append(self, line: str, path: Path | None = None) -> None:
        private_folder(self.folder)
        with _locked(self.folder / "append.lock"):
            fd = os.open(path or self.pending, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                # After a torn line (a crash mid-append), start a fresh line so this record stays whole.
                torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
                os.write(fd, ("\n" if torn else "").encode() + (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def _claim_pending(self) -> bool:
        with _locked(self.folder / "append.lock"):
            try:
                self.pending.rename(self.replaying)
            except FileNotFoundError:
                return False
        return True

    @staticmethod
    def _records(path: Path) -> Iterator[dict[str, Any]]:
        try:
            # Only "\n" ends a record: str.splitlines() would also split at U+2028, U+0085 and
            # friends, and text mode would turn a "\r" into one. Records are written as ASCII
            # JSON, so neither appears raw; the spool reads older files safely all the same.
            lines = path.read_bytes().decode("utf-8", "replace").split("\n")
        except FileNotFoundError:
            return
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                # Only a crash mid-append leaves a torn line, and that write was never acknowledged.
                log.warning("skipping a torn line %d in %s", number, path)


@contextlib.contextmanager
def _locked(path: Path, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on a file; with wait=False, yield False if another process holds it."""
    private_folder(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
