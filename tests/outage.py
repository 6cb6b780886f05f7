"""A database the test can switch off, and the spool writing through it (fixtures `outage` and `spool`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import pytest
from quart import Quart

from app.storage import Database, DatabaseUnavailable, Executor, Spool
from app.storage.base import Params, Result, Row


class Outage(Database):
    """A database that fails like an unreachable server while `down` is set."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.dialect = db.dialect
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise DatabaseUnavailable("the test switched the database off")

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()

    @property
    def connections_in_use(self) -> int:
        return self.db.connections_in_use

    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        self._check()
        return await self.db.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        self._check()
        return await self.db.fetch_one(sql, params)

    async def execute(self, sql: str, params: Params = None) -> Result:
        self._check()
        return await self.db.execute(sql, params)

    async def stream(self, sql: str, params: Params = None, batch: int = 1000) -> AsyncIterator[Row]:
        self._check()
        async for row in self.db.stream(sql, params, batch):
            yield row

    def transaction(self, fresh: bool = False) -> AbstractAsyncContextManager[Executor]:
        self._check()
        return self.db.transaction()


@pytest.fixture
def outage(app: Quart, db: Database) -> Outage:
    """The app's database behind a switch; writes that fail are spooled after a short retry."""
    switch = Outage(db)
    spool: Spool = app.extensions["spool"]
    app.extensions["db"] = spool.db = app.extensions["answers"].db = switch
    spool.retry_for = 0.2
    return switch


@pytest.fixture
async def spool(app: Quart, outage: Outage) -> Spool:
    """The app's spool, writing through the switchable database; the test decides when it replays."""
    spool: Spool = app.extensions["spool"]
    await spool.stop_replaying()
    return spool
