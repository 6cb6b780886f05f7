"""The embedded engine: SQLite through aiosqlite, one connection in WAL mode."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import aiosqlite

from .base import Database, DatabaseUnavailable, Executor, Params, Result, Row
from .turns import Turns

# SQLite errors that mean "cannot take work now" (locked too long, disk trouble), not "bad query".
_UNAVAILABLE = ("database is locked", "disk i/o error", "unable to open", "disk is full", "readonly database")


@contextmanager
def _unavailable_as_such() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as error:
        if any(sign in str(error).lower() for sign in _UNAVAILABLE):
            raise DatabaseUnavailable(f"SQLite: {error}") from error
        raise


class SQLiteDatabase(Database):
    """SQLite behind the storage interface; one writer at a time, as SQLite wants."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._connection: aiosqlite.Connection | None = None
        # Statements outside a transaction must not interleave with one in progress.
        self._lock = Turns()

    async def open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(self.path, isolation_level=None)
        connection.row_factory = sqlite3.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
        ):
            await connection.execute(pragma)
        self._connection = connection

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    @property
    def connection(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise DatabaseUnavailable("the SQLite database is not open")
        return self._connection

    @property
    def connections_in_use(self) -> int:
        return 1 if self._lock.locked() else 0

    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        async with self._lock:
            with _unavailable_as_such():
                return await _Statements(self.connection).fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        async with self._lock:
            with _unavailable_as_such():
                return await _Statements(self.connection).fetch_one(sql, params)

    async def execute(self, sql: str, params: Params = None) -> Result:
        async with self._lock:
            with _unavailable_as_such():
                return await _Statements(self.connection).execute(sql, params)

    async def stream(self, sql: str, params: Params = None, batch: int = 1000) -> AsyncIterator[Row]:
        # Reads come from a connection of their own so that a long export never
        # blocks the writers; WAL gives it a consistent snapshot.
        async with aiosqlite.connect(self.path) as reader:
            reader.row_factory = sqlite3.Row
            async with reader.execute(sql, params or {}) as cursor:
                while rows := await cursor.fetchmany(batch):
                    for row in rows:
                        yield dict(row)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._lock:
            connection = self.connection
            with _unavailable_as_such():
                await connection.execute("BEGIN IMMEDIATE")
            try:
                with _unavailable_as_such():
                    yield _Statements(connection)
            except BaseException:
                await connection.rollback()
                raise
            else:
                await connection.commit()


class _Statements(Executor):
    """Statements on one SQLite connection, with no locking of their own."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        rows = await self.connection.execute_fetchall(sql, params or {})
        return [dict(row) for row in rows]

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = None) -> Result:
        cursor = await self.connection.execute(sql, params or {})
        return Result(cursor.rowcount, cursor.lastrowid)

    async def stream(self, sql: str, params: Params = None, batch: int = 1000) -> AsyncIterator[Row]:
        for row in await self.fetch_all(sql, params):
            yield row
