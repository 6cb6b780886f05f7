"""Where SQLite and MySQL differ, side by side, so queries elsewhere are written once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

_DDL = {
    "sqlite": {
        "pk": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "fk": "INTEGER",
        "text": "TEXT",
        "datetime": "TEXT",
        "table_options": "",
    },
    "mysql": {
        "pk": "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
        "fk": "BIGINT",
        "text": "MEDIUMTEXT",
        "datetime": "DATETIME(6)",
        "table_options": "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
    },
}

# The full-text index over questions and answers: InnoDB's FULLTEXT on MySQL; on SQLite an
# FTS5 table that reads its text from `exchanges` (external content) and is kept in step
# with it by triggers, then filled once from the rows already there.
_SEARCH_INDEX = {
    "sqlite": (
        "CREATE VIRTUAL TABLE exchanges_search USING fts5("
        "question, answer, content='exchanges', content_rowid='id', tokenize='unicode61')",
        """CREATE TRIGGER exchanges_search_insert AFTER INSERT ON exchanges BEGIN
            INSERT INTO exchanges_search (rowid, question, answer) VALUES (new.id, new.question, new.answer);
        END""",
        """CREATE TRIGGER exchanges_search_delete AFTER DELETE ON exchanges BEGIN
            INSERT INTO exchanges_search (exchanges_search, rowid, question, answer)
            VALUES ('delete', old.id, old.question, old.answer);
        END""",
        """CREATE TRIGGER exchanges_search_update AFTER UPDATE OF question, answer ON exchanges BEGIN
            INSERT INTO exchanges_search (exchanges_search, rowid, question, answer)
            VALUES ('delete', old.id, old.question, old.answer);
            INSERT INTO exchanges_search (rowid, question, answer) VALUES (new.id, new.question, new.answer);
        END""",
        "INSERT INTO exchanges_search (exchanges_search) VALUES ('rebuild')",
    ),
    "mysql": ("ALTER TABLE exchanges ADD FULLTEXT INDEX exchanges_search (question, answer)",),
}

# The full-text index over chat titles, built the same way (the sidebar's search reads both).
_TITLE_SEARCH_INDEX = {
    "sqlite": (
        "CREATE VIRTUAL TABLE conversations_search USING fts5("
        "title, content='conversations', content_rowid='id', tokenize='unicode61')",
        """CREATE TRIGGER conversations_search_insert AFTER INSERT ON conversations BEGIN
            INSERT INTO conversations_search (rowid, title) VALUES (new.id, new.title);
        END""",
        """CREATE TRIGGER conversations_search_delete AFTER DELETE ON conversations BEGIN
            INSERT INTO conversations_search (conversations_search, rowid, title)
            VALUES ('delete', old.id, old.title);
        END""",
        """CREATE TRIGGER conversations_search_update AFTER UPDATE OF title ON conversations BEGIN
            INSERT INTO conversations_search (conversations_search, rowid, title)
            VALUES ('delete', old.id, old.title);
            INSERT INTO conversations_search (rowid, title) VALUES (new.id, new.title);
        END""",
        "INSERT INTO conversations_search (conversations_search) VALUES ('rebuild')",
    ),
    "mysql": ("ALTER TABLE conversations ADD FULLTEXT INDEX conversations_search (title)",),
}

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def upsert(dialect: str, table: str, key: str, inserted: dict[str, str], updated: dict[str, str]) -> str:
    """INSERT a row (column: SQL value), or where its key is taken SET the `updated` columns instead.

    An updated value may read the stored row (`asks + 1`); the row stays locked until
    the transaction ends.
    """
    columns, values = ", ".join(inserted), ", ".join(inserted.values())
    changes = ", ".join(f"{column} = {value}" for column, value in updated.items())
    insert = f"INSERT INTO {table} ({columns}) VALUES ({values})"
    if dialect == "sqlite":
        return f"{insert} ON CONFLICT ({key}) DO UPDATE SET {changes}"
    return f"{insert} ON DUPLICATE KEY UPDATE {changes}"


def unindexed(dialect: str, column: str) -> str:
    """A column compared row by row: SQLite's planner then walks another index (MySQL's weighs it anyway)."""
    return f"+{column}" if dialect == "sqlite" else column


def use_index(dialect: str, index: str) -> str:
    """A hint naming the index MySQL is to read a table by (SQLite's planner needs none)."""
    return f" USE INDEX ({index})" if dialect == "mysql" else ""


def ddl(dialect: str, template: str) -> str:
    """Fill a CREATE statement's type placeholders for one dialect."""
    return template.format(**_DDL[dialect])


def search_index(dialect: str) -> tuple[str, ...]:
    """The statements that create the full-text index over exchanges for one dialect."""
    return _SEARCH_INDEX[dialect]


def title_search_index(dialect: str) -> tuple[str, ...]:
    """The statements that create the full-text index over chat titles for one dialect."""
    return _TITLE_SEARCH_INDEX[dialect]


def utcnow() -> str:
    """The current UTC time in the text form both engines store and compare alike."""
    return datetime.now(UTC).strftime(TIME_FORMAT)


def utc_in(seconds: float) -> str:
    """The UTC time `seconds` from now (before now when negative), in the stored text form."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime(TIME_FORMAT)


def as_datetime(value: Any) -> datetime | None:
    """Read a stored time back as an aware UTC datetime, whichever engine stored it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)
