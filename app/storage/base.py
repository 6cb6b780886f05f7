"""The one storage interface both engines implement."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

T = TypeVar("T")

Row = dict[str, Any]
Params = Mapping[str, Any] | None
Dialect = Literal["sqlite", "mysql"]


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or refused the work for a reason outside the query."""


class CommitUnknown(DatabaseUnavailable):
    """The connection was lost while committing: the transaction may or may not have landed."""


@dataclass(frozen=True, slots=True)
class Result:
    """What a write statement did."""

    rowcount: int
    lastrowid: int | None


class Executor(ABC):
    """Runs SQL written once with `:name` parameters."""

    # Which engine runs it, for the few statements written per engine (dialects.py).
    dialect: Dialect

    @abstractmethod
    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        """Return every row of a query as dicts."""

    @abstractmethod
    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        """Return the first row of a query, or None."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = None) -> Result:
        """Run one statement and report what it changed."""

    @abstractmethod
    def stream(self, sql: str, params: Params = None, batch: int = 1000) -> AsyncIterator[Row]:
        """Yield the rows of a large query without holding them all in memory."""


class Database(Executor):
    """A pool of connections to one database, opened at start-up and closed at shutdown."""

    # How long to wait before running again what failed on a connection.
    retry_pause: float = 0.0

    @abstractmethod
    async def open(self) -> None:
        """Connect (and create the database file or pool)."""

    @abstractmethod
    async def close(self) -> None:
        """Release every connection."""

    @abstractmethod
    def transaction(self, fresh: bool = False) -> AbstractAsyncContextManager[Executor]:
        """Run the statements of the block atomically on one connection (a new one when `fresh`)."""

    async def transact(self, work: Callable[[Executor], Awaitable[T]], *, idempotent: bool = False) -> T:
        """Run `work` in a transaction, once more on a fresh connection if the first one failed.

        A transaction that failed before its commit was rolled back and is always run again;
        one whose commit reply was lost (CommitUnknown) only when `idempotent` says that
        running it twice does no more than once (a form key, a claim resolved by its token).
        """
        try:
            async with self.transaction() as tx:
                return await work(tx)
        except CommitUnknown:
            if not idempotent:
                raise
        except DatabaseUnavailable:
            pass
        await asyncio.sleep(self.retry_pause)
        async with self.transaction(fresh=True) as tx:
            return await work(tx)

    @property
    @abstractmethod
    def connections_in_use(self) -> int:
        """How many connections are borrowed right now (0 when idle: nothing leaked)."""

    async def ping(self) -> bool:
        """Tell whether the database answers a trivial query."""
        try:
            return await self.fetch_one("SELECT 1 AS ok") is not None
        except Exception:
            return False


def one_of_these(name: str, values: Iterable[int]) -> tuple[str, dict[str, int]]:
    """`IN (…)` over some ids, as SQL with named parameters and the parameters."""
    params = {f"{name}_{number}": value for number, value in enumerate(values)}
    return "(" + ", ".join(f":{key}" for key in params) + ")", params


async def atomically[U](
    db: Executor, work: Callable[[Executor], Awaitable[U]], *, idempotent: bool = False
) -> U:
    """Run `work` in a transaction of its own on a database, or as part of the transaction it is given."""
    if isinstance(db, Database):
        return await db.transact(work, idempotent=idempotent)
    return await work(db)
