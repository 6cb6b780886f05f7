"""Row ids from the outside world: ASCII digits, positive, and small enough for every database."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, ValidationError

# The largest signed 64-bit integer: BIGINT in MySQL, INTEGER in SQLite.
MAX_ID = 2**63 - 1
MAX_DIGITS = len(str(MAX_ID))


def parse_id(raw: str | None) -> int | None:
    """An id from a form field, query parameter, header or address, or None when it cannot be one."""
    # int() alone would also take "١", "+1" or " 1", and raises ValueError past 4,300 digits.
    if not raw or len(raw) > MAX_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


class IdConverter(IntegerConverter):
    """`<int:…>` in routes: an id as parse_id reads it, anything else a 404 rather than a database error."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number
