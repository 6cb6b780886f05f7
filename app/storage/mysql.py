"""The production engine: MySQL or MariaDB through an aiomysql connection pool."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from functools import lru_cache
from typing import Any, TypeVar

import aiomysql
import pymysql
from pymysql.constants import CLIENT

from .base import CommitUnknown, Database, DatabaseUnavailable, Executor, Params, Result, Row
from .turns import Turns

T = TypeVar("T")

# `:name` becomes `%(name)s`, except inside quoted strings, identifiers and comments;
# every literal `%` (quoted or not) is doubled, because the driver formats the whole text with `%`.
_TOKENS = re.compile(
    r"""
      (?P<quoted> '(?:[^'\\]|\\.|'')*' | "(?:[^"\\]|\\.|"")*" | `(?:[^`]|``)*` )
    | (?P<comment> --[^\n]* | /\*.*?\*/ )
    | (?P<cast> ::)
    | :(?P<name> [A-Za-z_][A-Za-z0-9_]*)
    | (?P<percent> %)
    """,
    re.VERBOSE | re.DOTALL,
)

# Server and client error codes that mean "the database is not there", not "the query is wrong":
# too many connections, shutdown in progress, connection killed, read-only during a failover,
# and every client-side error (2000–2999: cannot connect, server gone away, lost connection).
_UNAVAILABLE_CODES = frozenset({1040, 1053, 1077, 1152, 1158, 1159, 1160, 1161, 1290, 1836, 1927, 4031})
# Errors a cluster returns while it is healthy enough to take the work again at once: a Galera
# node not yet ready (1047, WSREP has not yet prepared node), a certification conflict or
# deadlock (1213), a lock wait timeout (1205), a commit that failed (1180).
_TRANSIENT_CODES = frozenset({1047, 1180, 1205, 1213})
# A statement that failed on its connection is tried once more on a new one, after this pause:
# long enough for a proxy to stop sending new connections to a node that just died.
RETRY_PAUSE_SECONDS = 0.25


class _Hex:
    """Bytes bound as a hexadecimal literal: aiomysql cannot escape bytes with this PyMySQL's converters."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


pymysql.converters.encoders[_Hex] = lambda value, mapping=None: f"X'{value.data.hex()}'"


def bound(params: Params) -> Params:
    """The parameters as the driver can escape them (bytes as hexadecimal literals)."""
    if not params or not any(isinstance(value, bytes) for value in params.values()):
        return params or {}
    return {name: _Hex(value) if isinstance(value, bytes) else value for name, value in params.items()}


class _Waited(DatabaseUnavailable):
    """No connection came free in time: the pool is busy (or its server too slow to answer)."""


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """Rewrite SQL written with `:name` parameters into the driver's `%(name)s` form."""

    def replace(match: re.Match[str]) -> str:
        if match.group("name"):
            return f"%({match.group('name')})s"
        return match.group(0).replace("%", "%%")

    return _TOKENS.sub(replace, sql)


def is_unavailable(error: BaseException) -> bool:
    """Tell whether a driver error means the server cannot be reached or cannot take work now."""
    if isinstance(error, (OSError, asyncio.TimeoutError, pymysql.err.InterfaceError)):
        return True
    if isinstance(error, pymysql.err.MySQLError):
        code = error.args[0] if error.args and isinstance(error.args[0], int) else 0
        if code in _TRANSIENT_CODES:
            return True
        if isinstance(error, pymysql.err.OperationalError):
            return code in _UNAVAILABLE_CODES or 2000 <= code < 3000 or code == 0
    return False


class MySQLDatabase(Database):
    """MySQL/MariaDB behind the storage interface; each call borrows a pooled connection briefly."""

    dialect = "mysql"
    retry_pause = RETRY_PAUSE_SECONDS

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        database: str,
        *,
        pool_size: int = 10,
        connect_timeout: float = 5.0,
        query_timeout: float = 30.0,
        pool_recycle: int = 280,
    ) -> None:
        self.host, self.port, self.user, self.database = host, port, user, database
        self._password = password
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.query_timeout = query_timeout
        self.pool_recycle = pool_recycle
        self._pool: aiomysql.Pool | None = None
        self._settings: dict[str, Any] = {
            "host": host,
            "port": port,
            "user": user,
            "password": password,
            "db": database,
            "connect_timeout": connect_timeout,
            "autocommit": True,
            "charset": "utf8mb4",
            # Rows "matched", not "changed", as SQLite counts them: a repeated UPDATE still reports 1.
            "client_flag": CLIENT.FOUND_ROWS,
            # UTC, strict about data, and no notes such as "table already exists" to fetch and log.
            "init_command": (
                "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION',"
                " sql_notes = 0"
            ),
        }
        # Callers queue here, not on the pool's own lock: asyncio.Lock checks every waiter
        # on each acquire, which a burst of a thousand requests made quadratic.
        self._line = Turns(pool_size)

    def __repr__(self) -> str:
        return f"MySQLDatabase({self.user}@{self.host}:{self.port}/{self.database})"

    async def open(self) -> None:
        try:
            if await self._is_galera():
                # Reads, inserts, updates and deletes wait for the writes the cluster has already
                # accepted: a question stored through one node is found by the next request,
                # whichever node it reaches, and a file's chunks find the file row they belong to.
                self._settings["init_command"] += ", wsrep_sync_wait = 7"
            self._pool = await aiomysql.create_pool(
                minsize=1,
                maxsize=self.pool_size,
                # Recycled before the server's or a proxy's idle timeout can cut them.
                pool_recycle=self.pool_recycle,
                **self._settings,
            )
        except Exception as error:
            if is_unavailable(error):
                raise DatabaseUnavailable(
                    f"cannot reach MySQL at {self.host}:{self.port}: {error}"
                ) from error
            raise

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            await self._pool.wait_closed()
            self._pool = None

    @property
    def pool(self) -> aiomysql.Pool:
        if self._pool is None:
            raise DatabaseUnavailable("the MySQL pool is not open")
        return self._pool

    @property
    def connections_in_use(self) -> int:
        """How many pooled connections are borrowed right now."""
        return 0 if self._pool is None else self._pool.size - self._pool.freesize

    async def _is_galera(self) -> bool:
        """Whether the server is a node of a Galera cluster (MySQL itself knows no such variable)."""
        connection = await aiomysql.connect(**self._settings)
        try:
            async with connection.cursor() as cursor:
                await cursor.execute("SELECT @@wsrep_on")
                (on,) = await cursor.fetchone()
                return bool(int(on))
        except pymysql.err.MySQLError:
            return False
        finally:
            connection.close()

    async def _with_connection(self, work: Callable[[_Statements], Awaitable[T]]) -> T:
        """Run one statement; if its connection failed, run it once more on a new one.

        Every statement the app runs on its own is safe to repeat: reads, and writes that set
        values by key (a claim is settled by its token, not by its row count).
        """
        try:
            async with self._connection() as connection:
                return await work(_Statements(connection, self.query_timeout))
        except _Waited:
            raise  # the pool is busy, not broken: waiting again would only double the wait
        except DatabaseUnavailable:
            pass
        await asyncio.sleep(self.retry_pause)
        async with self._connection(fresh=True) as connection:
            return await work(_Statements(connection, self.query_timeout))

    @asynccontextmanager
    async def _connection(self, fresh: bool = False) -> AsyncIterator[aiomysql.Connection]:
        """Borrow a connection (a new one, past the pool, when `fresh`); a failed one is closed."""
        try:
            # The wait in line counts too: a server that is down fails everyone in time.
            async with asyncio.timeout(self.connect_timeout):
                await self._line.acquire()
                try:
                    pool = self.pool  # a closed database is not reopened, even for a fresh connection
                    connection = await (aiomysql.connect(**self._settings) if fresh else pool.acquire())
                except BaseException:
                    self._line.release()
                    raise
        except TimeoutError as error:
            raise _Waited(
                f"MySQL at {self.host}:{self.port}: waiting for a connection"
                f" took over {self.connect_timeout:g} s"
            ) from error
        except Exception as error:
            if is_unavailable(error):
                raise DatabaseUnavailable(
                    f"cannot reach MySQL at {self.host}:{self.port}: {error}"
                ) from error
            raise
        try:
            yield connection
        except Exception as error:
            if not is_unavailable(error):
                raise
            connection.close()
            raise DatabaseUnavailable(f"MySQL at {self.host}:{self.port} went away: {error}") from error
        except BaseException:
            # Cancelled mid-statement: the connection's state is unknown, so it is not reused.
            connection.close()
            raise
        finally:
            if fresh or self._pool is None:
                connection.close()
            else:
                self._pool.release(connection)
            self._line.release()

    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        return await self._with_connection(lambda statements: statements.fetch_all(sql, params))

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        return await self._with_connection(lambda statements: statements.fetch_one(sql, params))

    async def execute(self, sql: str, params: Params = None) -> Result:
        return await self._with_connection(lambda statements: statements.execute(sql, params))

    async def stream(self, sql: str, params: Params = None, batch: int = 1000) -> AsyncIterator[Row]:
        # A server-side cursor sends rows as they are read; one connection is held for the
        # export's length, and closed (not drained) if the reader stops early.
        async with self._connection() as connection:
            cursor = await connection.cursor(aiomysql.SSDictCursor)
            finished = False
            try:
                await cursor.execute(translate(sql), bound(params))
                while rows := await cursor.fetchmany(batch):
                    for row in rows:
                        yield row
                finished = True
            finally:
                if finished:
                    await cursor.close()
                else:
                    connection.close()

    @asynccontextmanager
    async def transaction(self, fresh: bool = False) -> AsyncIterator[Executor]:
        async with self._connection(fresh) as connection:
            statements = _Statements(connection, self.query_timeout)
            await statements.run(connection.begin())
            try:
                yield statements
            except Exception as error:
                # A broken or cancelled connection is closed instead, which rolls back on the server.
                if not is_unavailable(error):
                    with suppress(Exception):
                        await statements.run(connection.rollback())
                raise
            try:
                await statements.run(connection.commit())
            except Exception as error:
                if not is_unavailable(error):
                    raise
                connection.close()
                code = error.args[0] if error.args else None
                # A refused commit (a certification conflict) did not land; a lost reply may have.
                if code in _TRANSIENT_CODES:
                    raise DatabaseUnavailable(f"MySQL refused the commit: {error}") from error
                raise CommitUnknown(
                    f"MySQL at {self.host}:{self.port} went away during a commit: {error}"
                ) from error


class _Statements(Executor):
    """Statements on one borrowed connection, each bounded by the query timeout."""

    dialect = "mysql"

    def __init__(self, connection: aiomysql.Connection, timeout: float) -> None:
        self.connection = connection
        self.timeout = timeout

    async def run(self, work: Awaitable[T]) -> T:
        async with asyncio.timeout(self.timeout):
            return await work

    async def _cursor(self, sql: str, params: Params) -> aiomysql.DictCursor:
        cursor = await self.connection.cursor(aiomysql.DictCursor)
        await self.run(cursor.execute(translate(sql), bound(params)))
        return cursor

    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        cursor = await self._cursor(sql, params)
        rows = await cursor.fetchall()
        await cursor.close()
        return list(rows)

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = None) -> Result:
        cursor = await self._cursor(sql, params)
        result = Result(cursor.rowcount, cursor.lastrowid or None)
        await cursor.close()
        return result

    async def stream(self, sql: str, params: Params = None, batch: int = 1000) -> AsyncIterator[Row]:
        for row in await self.fetch_all(sql, params):
            yield row
