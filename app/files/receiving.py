"""Files received with a question: checked, read and stored, all of them or none.

Every file is checked first (kind from its bytes, sizes, the day's allowance, whether the
model sees images), then read (images in a worker thread, documents in a child process),
and only then stored, chunk by chunk, from the upload's spooled copy: a refusal of the
third file leaves nothing of the first two.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from .. import messages
from ..config import Config
from ..storage import Executor, attachments
from ..storage.attachments import Described
from ..storage.dialects import TIME_FORMAT
from . import documents
from .kinds import HEAD_BYTES, Kind, clean_name, sniff

log = logging.getLogger(__name__)

MB = 1024 * 1024
# Images decoded at once in one process (each may briefly need a few hundred megabytes).
IMAGE_WORKERS = 2

_painters: asyncio.Semaphore | None = None


class Refused(Exception):
    """A file cannot be taken; the message says why, for the person who attached it."""


@dataclass(frozen=True, slots=True)
class Upload:
    """One file as it arrived: the name it came with and its bytes, spooled (to disk when large)."""

    name: str | None
    stream: BinaryIO


@dataclass(slots=True)
class _Received:
    upload: Upload
    described: Described
    data: bytes | None = None  # an image as prepared; documents are stored from the upload itself


def uploads_in(files: Sequence[object]) -> list[Upload]:
    """The files a form sent (werkzeug's FileStorage), without the empty part of an input left blank."""
    found = []
    for item in files:
        name, stream = getattr(item, "filename", None), getattr(item, "stream", None)
        if stream is None or (not name and _size(stream) == 0):
            continue
        found.append(Upload(name, stream))
    return found


async def receive(
    db: Executor, owner: str, uploads: Sequence[Upload], config: Config, model_sees: bool, model: str
) -> list[int]:
    """Check, read and store a question's files: their ids, attached to nothing yet (Refused if one fails)."""
    if not uploads:
        return []
    if len(uploads) > config.max_files_per_question:
        raise Refused(messages.too_many_files(len(uploads), config.max_files_per_question))
    received = [_checked(upload, config) for upload in uploads]
    total = sum(item.described.size for item in received)
    if total > config.max_upload_mb_per_question * MB:
        raise Refused(messages.files_too_large(total, config.max_upload_mb_per_question))
    await _within_the_day(db, owner, total, config)
    if not model_sees and any(item.described.kind == Kind.IMAGE for item in received):
        raise Refused(messages.cannot_see(model))
    for item in received:
        await _read(item, config)
    return await _store(db, owner, received)


def _checked(upload: Upload, config: Config) -> _Received:
    name = clean_name(upload.name)
    size = _size(upload.stream)
    if size == 0:
        raise Refused(messages.file_empty(name))
    if size > config.max_upload_mb * MB:
        raise Refused(messages.file_too_large(name, size, config.max_upload_mb))
    upload.stream.seek(0)
    head = upload.stream.read(HEAD_BYTES)
    upload.stream.seek(0)
    sniffed = sniff(head)
    if sniffed is None:
        raise Refused(messages.file_unsupported(name))
    return _Received(upload, Described(name, sniffed.kind.value, sniffed.media_type, size))


async def _within_the_day(db: Executor, owner: str, adding: int, config: Config) -> None:
    if not config.upload_mb_per_day:
        return
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    used = await attachments.bytes_since(db, owner, midnight.strftime(TIME_FORMAT))
    if used + adding > config.upload_mb_per_day * MB:
        raise Refused(messages.upload_day_spent(config.upload_mb_per_day, midnight + timedelta(days=1)))


async def _read(item: _Received, config: Config) -> None:
    """Read one file: an image made ready for the model, a document's text taken out."""
    # Pillow is loaded by the first image: a worker that is never sent one saves its memory.
    from . import images

    stream, described = item.upload.stream, item.described
    stream.seek(0)
    try:
        if described.kind == Kind.IMAGE:
            global _painters
            if _painters is None:
                _painters = asyncio.Semaphore(IMAGE_WORKERS)
            async with _painters:
                ready = await asyncio.to_thread(images.prepare, stream)
            item.data = ready.data
            item.described = replace(
                described,
                media_type=ready.media_type,
                size=len(ready.data),
                width=ready.width,
                height=ready.height,
                thumbnail=ready.thumbnail,
            )
        else:
            limits = documents.Limits(chars=config.file_text_chars)
            read = await documents.read(Kind(described.kind), _reader(stream), limits)
            item.described = replace(
                described, text=read.text, cut=read.cut, pages=read.pages, read_pages=read.read_pages
            )
    except (images.Unreadable, documents.NotRead) as error:
        raise Refused(messages.about_file(described.name, str(error))) from None
    finally:
        stream.seek(0)


async def _store(db: Executor, owner: str, received: list[_Received]) -> list[int]:
    """Store every file, or (when the database fails midway) none: what was stored is deleted again."""
    stored: list[int] = []
    try:
        for item in received:
            attachment_id = await attachments.create(db, owner, item.described)
            stored.append(attachment_id)
            source = _from_bytes(item.data) if item.data is not None else _reader(item.upload.stream)
            await attachments.write(db, attachment_id, source)
    except BaseException:
        if stored:
            try:
                await asyncio.shield(attachments.discard_unattached(db, stored))
            except Exception:
                log.warning("files %s were left half stored; the sweeper removes them", stored)
        raise
    return stored


def _reader(stream: BinaryIO) -> Callable[[int], Awaitable[bytes]]:
    async def read(size: int) -> bytes:
        return stream.read(size)

    return read


def _from_bytes(data: bytes) -> Callable[[int], Awaitable[bytes]]:
    view = memoryview(data)
    offset = 0

    async def read(size: int) -> bytes:
        nonlocal offset
        chunk = bytes(view[offset : offset + size])
        offset += len(chunk)
        return chunk

    return read


def _size(stream: BinaryIO) -> int:
    """How many bytes a spooled upload holds (its position is left at the start)."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


# Files nobody's question took are deleted after this long (an upload whose question failed).
UNATTACHED_SECONDS = 3600.0
SWEEP_SECONDS = 600.0


async def sweep_unattached(db: Executor, older_than: float = UNATTACHED_SECONDS) -> int:
    """Delete files stored over `older_than` seconds ago that no question took."""
    before = (datetime.now(UTC) - timedelta(seconds=older_than)).strftime(TIME_FORMAT)
    return await attachments.sweep_unattached(db, before)


async def keep_sweeping(db: Executor, every: float = SWEEP_SECONDS) -> None:
    """Sweep unattached files now and then while the app serves."""
    while True:
        try:
            if swept := await sweep_unattached(db):
                log.info("deleted %d files no question took", swept)
        except Exception:
            log.warning("could not sweep unattached files; trying again later", exc_info=True)
        await asyncio.sleep(every)
