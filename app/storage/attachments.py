"""Queries on attachments: files kept with the exchange they came with, their bytes in chunks, their text."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass

from .base import Executor, Row
from .dialects import utcnow

# Below MariaDB's smallest default max_allowed_packet (16 MB, and 4 MB before 10.2) and far
# below Galera's write-set limit: each chunk is one short statement of its own.
CHUNK_BYTES = 512 * 1024

# An attachment as pages show it (no text, no thumbnail, no bytes).
COLUMNS = (
    "id",
    "owner",
    "exchange_id",
    "name",
    "kind",
    "media_type",
    "size",
    "chars",
    "pages",
    "read_pages",
    "cut",
    "width",
    "height",
    "created_at",
)
SELECT = ", ".join(f"a.{name}" for name in COLUMNS)


@dataclass(frozen=True, slots=True)
class Described:
    """What is known of a file before its bytes are stored: its name, kind, size and what was read of it."""

    name: str
    kind: str
    media_type: str
    size: int
    text: str | None = None
    pages: int | None = None
    read_pages: int | None = None
    cut: bool = False
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None


async def create(db: Executor, owner: str, described: Described) -> int:
    """Store a file's description, attached to nothing yet; return its id (its bytes follow with `write`)."""
    result = await db.execute(
        "INSERT INTO attachments (owner, name, kind, media_type, size, text, chars, pages, read_pages, cut,"
        " width, height, thumbnail, created_at) VALUES (:owner, :name, :kind, :media_type, :size, :text,"
        " :chars, :pages, :read_pages, :cut, :width, :height, :thumbnail, :now)",
        {
            "owner": owner,
            "name": described.name,
            "kind": described.kind,
            "media_type": described.media_type,
            "size": described.size,
            "text": described.text,
            "chars": None if described.text is None else len(described.text),
            "pages": described.pages,
            "read_pages": described.read_pages,
            "cut": int(described.cut),
            "width": described.width,
            "height": described.height,
            "thumbnail": described.thumbnail,
            "now": utcnow(),
        },
    )
    assert result.lastrowid is not None
    return result.lastrowid


async def write(db: Executor, attachment_id: int, read: Callable[[int], Awaitable[bytes]]) -> int:
    """Store a file's bytes as `read(CHUNK_BYTES)` gives them, a chunk per statement; return how many bytes.

    Only one chunk is in memory at a time, whatever the file's size.
    """
    digest = hashlib.sha256()
    seq = size = 0
    while chunk := await read(CHUNK_BYTES):
        digest.update(chunk)
        await db.execute(
            "INSERT INTO attachment_chunks (attachment_id, seq, data) VALUES (:id, :seq, :data)",
            {"id": attachment_id, "seq": seq, "data": chunk},
        )
        seq += 1
        size += len(chunk)
    await db.execute(
        "UPDATE attachments SET chunks = :chunks, size = :size, sha256 = :sha256 WHERE id = :id",
        {"id": attachment_id, "chunks": seq, "size": size, "sha256": digest.hexdigest()},
    )
    return size


async def attach(db: Executor, ids: Iterable[int], exchange_id: int, owner: str) -> int:
    """Attach the owner's stored files to the exchange they were asked with; return how many."""
    params = _ids(ids)
    if not params:
        return 0
    result = await db.execute(
        f"UPDATE attachments SET exchange_id = :exchange_id WHERE id IN ({_names(params)})"
        " AND owner = :owner AND exchange_id IS NULL",
        {**params, "exchange_id": exchange_id, "owner": owner},
    )
    return result.rowcount


async def discard_unattached(db: Executor, ids: Iterable[int]) -> int:
    """Delete those of these files that no exchange took (their chunks go with them)."""
    params = _ids(ids)
    if not params:
        return 0
    result = await db.execute(
        f"DELETE FROM attachments WHERE id IN ({_names(params)}) AND exchange_id IS NULL", params
    )
    return result.rowcount


async def sweep_unattached(db: Executor, stored_before: str) -> int:
    """Delete files stored before a time that no exchange took: uploads whose question never landed."""
    result = await db.execute(
        "DELETE FROM attachments WHERE exchange_id IS NULL AND created_at < :before",
        {"before": stored_before},
    )
    return result.rowcount


async def get(db: Executor, attachment_id: int) -> Row | None:
    """An attached file, with who asked with it and whether they deleted its question or chat (`hidden`).

    None when there is none (or it is not attached yet).
    """
    return await db.fetch_one(
        f"SELECT {SELECT}, a.chunks,"
        " CASE WHEN x.deleted_at IS NULL AND c.deleted_at IS NULL THEN 0 ELSE 1 END AS hidden"
        " FROM attachments a JOIN exchanges x ON x.id = a.exchange_id"
        " JOIN conversations c ON c.id = x.conversation_id WHERE a.id = :id",
        {"id": attachment_id},
    )


async def thumbnail(db: Executor, attachment_id: int) -> bytes | None:
    """An image's thumbnail."""
    found = await db.fetch_one("SELECT thumbnail FROM attachments WHERE id = :id", {"id": attachment_id})
    return bytes(found["thumbnail"]) if found and found["thumbnail"] is not None else None


async def chunks(db: Executor, attachment_id: int, count: int) -> AsyncIterator[bytes]:
    """A file's bytes, chunk by chunk, each read on its own (a download never holds the whole file)."""
    for seq in range(count):
        found = await db.fetch_one(
            "SELECT data FROM attachment_chunks WHERE attachment_id = :id AND seq = :seq",
            {"id": attachment_id, "seq": seq},
        )
        if found is None:
            return
        yield bytes(found["data"])


async def read_all(db: Executor, attachment_id: int) -> bytes:
    """A (small) file's bytes whole: an image as it is sent to the model."""
    rows = await db.fetch_all(
        "SELECT data FROM attachment_chunks WHERE attachment_id = :id ORDER BY seq", {"id": attachment_id}
    )
    return b"".join(bytes(row["data"]) for row in rows)


async def of_exchanges(db: Executor, exchange_ids: Iterable[int], text: bool = False) -> dict[int, list[Row]]:
    """The files each exchange was asked with, oldest first: its own and those of its other versions.

    Regenerate and Edit ask the same question anew as another version: its files go with it.
    """
    params = _ids(exchange_ids)
    if not params:
        return {}
    extra = ", a.text" if text else ""
    rows = await db.fetch_all(
        f"SELECT me.id AS asked_in, {SELECT}{extra} FROM exchanges me"
        " JOIN exchanges v ON v.conversation_id = me.conversation_id AND v.parent_id = me.parent_id"
        f" JOIN attachments a ON a.exchange_id = v.id WHERE me.id IN ({_names(params)}) ORDER BY a.id",
        params,
    )
    found: dict[int, list[Row]] = {}
    for row in rows:
        found.setdefault(row.pop("asked_in"), []).append(row)
    return found


async def bytes_since(db: Executor, owner: str, since: str) -> int:
    """How many bytes of files the owner attached since a time."""
    row = await db.fetch_one(
        "SELECT SUM(size) AS n FROM attachments WHERE owner = :owner AND created_at >= :since",
        {"owner": owner, "since": since},
    )
    return int(row["n"] or 0) if row else 0


def _ids(ids: Iterable[int]) -> dict[str, int]:
    return {f"id_{number}": value for number, value in enumerate(dict.fromkeys(ids))}


def _names(params: dict[str, int]) -> str:
    return ", ".join(f":{name}" for name in params)
