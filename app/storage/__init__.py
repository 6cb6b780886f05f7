"""Storage: one async interface over SQLite and MySQL, chosen by the database URL."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from urllib.parse import parse_qs, unquote, urlsplit

from quart import Quart, current_app

from .base import CommitUnknown, Database, DatabaseUnavailable, Executor, Result, Row
from .migrations import migrate
from .spool import Spool

__all__ = [
    "CommitUnknown",
    "Database",
    "DatabaseUnavailable",
    "Executor",
    "Result",
    "Row",
    "Spool",
    "get_db",
    "get_spool",
    "init_app",
    "is_database_failure",
    "migrate",
    "open_database",
]

# How often spooled writes are retried while the app serves.
REPLAY_SECONDS = 5.0

log = logging.getLogger(__name__)


def open_database(url: str) -> Database:
    """Make the engine a URL names (not yet connected)."""
    if url.startswith("sqlite:///"):
        from .sqlite import SQLiteDatabase

        return SQLiteDatabase(unquote(url.removeprefix("sqlite:///")) or ":memory:")
    if url.startswith("mysql://"):
        from .mysql import MySQLDatabase

        parts = urlsplit(url)
        options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        return MySQLDatabase(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=unquote(parts.path.lstrip("/")),
            pool_size=int(options.get("pool_size", 10)),
            connect_timeout=float(options.get("connect_timeout", 5)),
        )
    raise ValueError(f"unsupported database URL: {url.split(':', 1)[0]}://…")


def init_app(app: Quart) -> None:
    """Open and migrate the database, and replay spooled writes, while the app serves; close after."""

    @app.while_serving
    async def database() -> AsyncGenerator[None]:
        config = app.config["ANSWERS"]
        db = open_database(config.database_url)
        await db.open()
        applied = await migrate(db)
        if applied:
            log.info("database migrated: %s", ", ".join(applied))
        spool = Spool(config.instance_path / "spool", db)
        app.extensions["db"] = db
        app.extensions["spool"] = spool
        spool.start_replaying(REPLAY_SECONDS)
        try:
            yield
        finally:
            await spool.stop_replaying()
            del app.extensions["spool"], app.extensions["db"]
            await db.close()


def is_database_failure(error: BaseException) -> bool:
    """Whether an error came from the database (unreachable, or a driver error), not from the app."""
    import sqlite3

    from pymysql.err import MySQLError

    return isinstance(error, (DatabaseUnavailable, sqlite3.Error, MySQLError))


def get_db() -> Database:
    """The database of the app handling the current request."""
    return current_app.extensions["db"]


def get_spool() -> Spool:
    """The spool that keeps the current app's writes when its database is away."""
    return current_app.extensions["spool"]
