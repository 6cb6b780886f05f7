"""Exchanges written out as CSV or NDJSON, a chunk at a time, whatever their number."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

import orjson

from .. import messages
from ..storage.base import Row
from .times import iso_time

FIELDS = (
    "id",
    "created_at",
    "conversation_id",
    "conversation_title",
    "question",
    "answer",
    "status",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "error",
    "answered_at",
    "tokens_estimated",
    "deleted_by_owner_at",
    "feedback",
    "feedback_comment",
    "source",
    "files",
)
FORMATS = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
CHUNK_BYTES = 64 * 1024
# A spreadsheet runs a cell starting with one of these as a formula (after any blanks, and
# full-width forms such as "＝" count as their ASCII twins); a tab or carriage return first is refused too.
_FORMULA_SIGNS = frozenset("=+-@")
_CONTROL_STARTS = ("\t", "\r")
# Blank to a spreadsheet: spaces of every kind, controls, and invisible format characters
# (zero-width space, BOM).
_BLANK_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def record(row: Row) -> dict[str, Any]:
    """The exported fields of an exchange (who asked first, in an admin's export), times in ISO 8601 UTC."""
    out = {name: row.get(name) for name in FIELDS}
    if "user" in row:
        out = {"user": row["user"], **out}
    out["created_at"] = iso_time(row["created_at"]) or None
    out["answered_at"] = iso_time(row["answered_at"]) or None
    # Only an admin's export holds rows their owner deleted.
    out["deleted_by_owner_at"] = iso_time(row.get("deleted_at") or row.get("conversation_deleted_at")) or None
    out["source"] = messages.source(row.get("key_name"))
    out["feedback"] = row.get("feedback_rating")
    return out


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: formula-like text gets a leading quote."""
    if isinstance(value, str) and _formula_like(value):
        return "'" + value
    return value


def _formula_like(text: str) -> bool:
    if text.startswith(_CONTROL_STARTS):
        return True
    first = next((char for char in text if unicodedata.category(char) not in _BLANK_CATEGORIES), "")
    return unicodedata.normalize("NFKC", first)[:1] in _FORMULA_SIGNS


def _csv_text(rows: list[Row], header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(list(record(rows[0])) if rows else FIELDS)
    writer.writerows([safe_cell(value) for value in record(row).values()] for row in rows)
    return buffer.getvalue()


def _ndjson_text(rows: list[Row], header: bool) -> str:
    return "".join(orjson.dumps(record(row)).decode() + "\n" for row in rows)


_WRITERS: dict[str, Callable[[list[Row], bool], str]] = {"csv": _csv_text, "ndjson": _ndjson_text}


async def encode(rows: AsyncIterable[Row], fmt: str) -> AsyncIterator[bytes]:
    """Yield the rows in a format as chunks of about CHUNK_BYTES; memory stays flat."""
    write = _WRITERS[fmt]
    batch: list[Row] = []
    size = 0
    first = True
    async for row in rows:
        batch.append(row)
        size += len(row["question"]) + len(row["answer"] or "") + 100
        if size >= CHUNK_BYTES:
            yield write(batch, first).encode()
            batch, size, first = [], 0, False
    if batch or first:
        yield write(batch, first).encode()
