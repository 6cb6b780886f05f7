"""Storage: one async interface over SQLite and MySQL, chosen by the database URL."""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

from quart import Quart, current_app

from .base import Database, DatabaseUnavailable, Executor, Result, Row
from .migrations import migrate

__all__ = [
    "Database", "DatabaseUnavailable", "Executor", "Result", "Row",
    "get_db", "init_app", "migrate", "open_database",
]

log = logging.getLogger(__name__)


def open_database(url: str) -> Database:
    """Make the engine a URL names (not yet connected)."""
    if url.startswith("sqlite:///"):
        from .sqlite import SQLiteDatabase

        return SQLiteDatabase(unquote(url.removeprefix("sqlite:///")) or ":memory:")
    if url.startswith("mysql://"):
        from .mysql import MySQLDatabase

        parts = urlsplit(url)
        return MySQLDatabase(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=unquote(parts.path.lstrip("/")),
        )
    raise ValueError(f"unsupported database URL: {url.split(':', 1)[0]}://…")


def init_app(app: Quart) -> None:
    """Open the database and migrate it before serving; close it after."""

    @app.before_serving
    async def open_db() -> None:
        db = open_database(app.config["ANSWERS"].database_url)
        await db.open()
        applied = await migrate(db)
        if applied:
            log.info("database migrated: %s", ", ".join(applied))
        app.extensions["db"] = db

    @app.after_serving
    async def close_db() -> None:
        db = app.extensions.pop("db", None)
        if db is not None:
            await db.close()


def get_db() -> Database:
    """The database of the app handling the current request."""
    return current_app.extensions["db"]
