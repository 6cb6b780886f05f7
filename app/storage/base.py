"""The one storage interface both engines implement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal

Row = dict[str, Any]
Params = Mapping[str, Any] | None
Dialect = Literal["sqlite", "mysql"]


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or refused the work for a reason outside the query."""


@dataclass(frozen=True, slots=True)
class Result:
    """What a write statement did."""

    rowcount: int
    lastrowid: int | None


class Executor(ABC):
    """Runs SQL written once with `:name` parameters."""

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

    dialect: Dialect

    @abstractmethod
    async def open(self) -> None:
        """Connect (and create the database file or pool)."""

    @abstractmethod
    async def close(self) -> None:
        """Release every connection."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """Run the statements of the block atomically on one connection."""

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
