"""The embedded engine: SQLite in WAL mode, short statements on the event loop, long ones in a thread.

A round trip through a worker thread costs far more than the statements a chat
needs (a primary-key read, a one-row update: microseconds), and every trip waits
for a busy event loop to come back around, so a thousand chats queued on the one
connection behind each other for seconds. Statements therefore run on the loop's
own thread, on a connection that never waits: one that would (another process
holds the write lock) or that runs long (a search over a million rows; SQLite's
progress handler interrupts it) is run again on a second connection in a thread,
which may take its time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from ..private import private_file, private_folder
from .base import Database, DatabaseUnavailable, Executor, Params, Result, Row
from .turns import Turns

# SQLite errors that mean "cannot take work now" (locked too long, disk trouble), not "bad query".
_UNAVAILABLE = ("database is locked", "disk i/o error", "unable to open", "disk is full", "readonly database")
# A statement on the loop's thread gets this many SQLite VM steps (about a millisecond) before
# it is interrupted and sent to the thread.
_STEPS_PER_CHECK = 1000
_CHECKS_ALLOWED = 50
# The loop's connection leaves checkpoints (copying the WAL into the database, fsync) to the thread.
_COMMITS_PER_CHECKPOINT = 500
_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON")


@contextmanager
def _unavailable_as_such() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as error:
        if any(sign in str(error).lower() for sign in _UNAVAILABLE):
            raise DatabaseUnavailable(f"SQLite: {error}") from error
        raise


class _MustWait(Exception):
    """The statement cannot finish at once on the loop's thread; run it in the thread instead."""


class SQLiteDatabase(Database):
    """SQLite behind the storage interface; one writer at a time, as SQLite wants."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._quick: sqlite3.Connection | None = None
        self._patient: aiosqlite.Connection | None = None
        # Statements outside a transaction must not interleave with one in progress.
        self._lock = Turns()
        self._checks = 0
        self._interruptible = True
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None

    async def open(self) -> None:
        if self.path != ":memory:":
            private_folder(Path(self.path).parent)
            # SQLite gives its -wal and -shm files the mode of the database file.
            private_file(Path(self.path))
        patient = await aiosqlite.connect(self.path, isolation_level=None)
        patient.row_factory = sqlite3.Row
        for pragma in (*_PRAGMAS, "PRAGMA busy_timeout=5000"):
            await patient.execute(pragma)
        self._patient = patient
        if self.path == ":memory:":
            return  # a second connection would see another database: the thread does all
        quick = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        quick.row_factory = sqlite3.Row
        for pragma in (*_PRAGMAS, "PRAGMA busy_timeout=0", "PRAGMA wal_autocheckpoint=0"):
            quick.execute(pragma)
        quick.set_progress_handler(self._progress, _STEPS_PER_CHECK)
        self._quick = quick

    async def close(self) -> None:
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        if self._quick is not None:
            self._quick.close()
            self._quick = None
        if self._patient is not None:
            await self._patient.close()
            self._patient = None

    @property
    def patient(self) -> aiosqlite.Connection:
        if self._patient is None:
            raise DatabaseUnavailable("the SQLite database is not open")
        return self._patient

    @property
    def connections_in_use(self) -> int:
        return 1 if self._lock.locked() else 0

    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        async with self._lock:
            with _unavailable_as_such():
                try:
                    return self._at_once(lambda quick: _rows(quick.execute(sql, params or {}).fetchall()))
                except _MustWait:
                    return await _Patient(self.patient).fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = None) -> Result:
        async with self._lock:
            with _unavailable_as_such():
                try:
                    result = self._at_once(lambda quick: _result(quick.execute(sql, params or {})))
                except _MustWait:
                    return await _Patient(self.patient).execute(sql, params)
                self._committed()
                return result

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
    async def transaction(self, fresh: bool = False) -> AsyncIterator[Executor]:
        async with self._lock:
            with _unavailable_as_such():
                try:
                    self._at_once(lambda quick: quick.execute("BEGIN IMMEDIATE"))
                except _MustWait:
                    statements: _Patient | _Quick = _Patient(self.patient)
                    await self.patient.execute("BEGIN IMMEDIATE")
                else:
                    assert self._quick is not None
                    statements = _Quick(self._quick, self._interruption_off)
            try:
                with _unavailable_as_such():
                    yield statements
                    await statements.commit()
            except BaseException:
                await statements.rollback()
                raise
            if isinstance(statements, _Quick):
                self._committed()

    def _at_once[T](self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run work on the loop's connection, or raise _MustWait if it would block or runs long."""
        if self._quick is None:
            raise _MustWait
        self._checks = 0
        try:
            return work(self._quick)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_INTERRUPT):
                raise _MustWait from None
            raise

    def _progress(self) -> int:
        self._checks += 1
        return int(self._interruptible and self._checks > _CHECKS_ALLOWED)

    @contextmanager
    def _interruption_off(self) -> Iterator[None]:
        # Inside a transaction a statement cannot move to the other connection: it runs to its end.
        self._interruptible = False
        try:
            yield
        finally:
            self._interruptible = True

    def _committed(self) -> None:
        self._commits += 1
        if self._commits >= _COMMITS_PER_CHECKPOINT and (self._checkpoint is None or self._checkpoint.done()):
            self._commits = 0
            self._checkpoint = asyncio.get_running_loop().create_task(self._copy_wal())

    async def _copy_wal(self) -> None:
        try:
            await self.patient.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except (sqlite3.Error, DatabaseUnavailable):
            pass  # the next checkpoint tries again; until then the WAL just grows


def _rows(rows: list[Any]) -> list[Row]:
    return [dict(row) for row in rows]


def _result(cursor: sqlite3.Cursor) -> Result:
    return Result(cursor.rowcount, cursor.lastrowid)


class _Quick(Executor):
    """Statements of a transaction on the loop's connection, which holds the write lock."""

    dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection, uninterrupted: Callable[[], Any]) -> None:
        self.connection = connection
        self.uninterrupted = uninterrupted

    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        with self.uninterrupted():
            return _rows(self.connection.execute(sql, params or {}).fetchall())

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = None) -> Result:
        with self.uninterrupted():
            return _result(self.connection.execute(sql, params or {}))

    async def stream(self, sql: str, params: Params = None, batch: int = 1000) -> AsyncIterator[Row]:
        for row in await self.fetch_all(sql, params):
            yield row

    async def commit(self) -> None:
        self.connection.execute("COMMIT")

    async def rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")


class _Patient(Executor):
    """Statements on the connection in aiosqlite's thread, which waits for locks as long as it must."""

    dialect = "sqlite"

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        return _rows(list(await self.connection.execute_fetchall(sql, params or {})))

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = None) -> Result:
        cursor = await self.connection.execute(sql, params or {})
        return Result(cursor.rowcount, cursor.lastrowid)

    async def stream(self, sql: str, params: Params = None, batch: int = 1000) -> AsyncIterator[Row]:
        for row in await self.fetch_all(sql, params):
            yield row

    async def commit(self) -> None:
        await self.connection.commit()

    async def rollback(self) -> None:
        if self.connection.in_transaction:
            await self.connection.rollback()
