"""Row ids from the outside world: whole, positive, and small enough for every database."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

# The largest signed 64-bit integer: BIGINT in MySQL, INTEGER in SQLite.
MAX_ID = 2**63 - 1


def parse_id(raw: str | None) -> int | None:
    """An id from a form field or query parameter, or None when it cannot be one."""
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if 0 < value <= MAX_ID else None


class IdConverter(IntegerConverter):
    """`<int:…>` in routes, refusing numbers no row can have (404 rather than a database error)."""

    def __init__(self, map, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
