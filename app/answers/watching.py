"""Answers running in other processes, read from the database for all of this process's streams at once."""

from __future__ import annotations

import asyncio

from .. import metrics
from ..storage import Database, Row, exchanges

# How often a stream whose answer runs in another process reads it from the database.
POLL_SECONDS = 0.5
# Answers read per statement at most (each is one parameter of its `IN` list).
ANSWERS_PER_READ = 500


class Watching:
    """One read every POLL_SECONDS for every stream here that follows an answer written elsewhere.

    A thousand such streams cost the database two statements a second, not two thousand.
    """

    def __init__(self, db: Database, seconds: float = POLL_SECONDS) -> None:
        self.db = db
        self.seconds = seconds
        self._waiting: dict[int, list[asyncio.Future[Row | None]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def next(self, exchange_id: int) -> Row | None:
        """The exchange as the next shared read finds it, within POLL_SECONDS (None: it is gone)."""
        loop = asyncio.get_running_loop()
        found: asyncio.Future[Row | None] = loop.create_future()
        self._waiting.setdefault(exchange_id, []).append(found)
        if self._reader is None or self._reader.done():
            self._reader = loop.create_task(self._read(), name="watching")
        return await found

    async def close(self) -> None:
        """Stop reading (the streams still waiting are being cancelled with the app)."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.seconds)
            waiting, self._waiting = self._waiting, {}
            ids = list(waiting)
            try:
                found: dict[int, Row] = {}
                for start in range(0, len(ids), ANSWERS_PER_READ):
                    metrics.watching_reads.inc()
                    found |= await exchanges.progress_of(self.db, ids[start : start + ANSWERS_PER_READ])
            except Exception as error:  # every stream waiting hears of it, whatever it is
                for futures in waiting.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(error)
                continue
            for exchange_id, futures in waiting.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(exchange_id))
