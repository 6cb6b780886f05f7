"""Where SQLite and MySQL differ, side by side, so queries elsewhere are written once."""

from __future__ import annotations

from datetime import UTC, datetime
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

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def ddl(dialect: str, template: str) -> str:
    """Fill a CREATE statement's type placeholders for one dialect."""
    return template.format(**_DDL[dialect])


def utcnow() -> str:
    """The current UTC time in the text form both engines store and compare alike."""
    return datetime.now(UTC).strftime(TIME_FORMAT)


def as_datetime(value: Any) -> datetime | None:
    """Read a stored time back as an aware UTC datetime, whichever engine stored it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)
