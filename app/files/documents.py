"""A document's text, read off the event loop: PDF and Word in a child process with limits, plain text here.

Each PDF or Word document is read by a child process of its own (`reader.py`), at most
READERS at once: it may use MEMORY_BYTES and CPU_SECONDS, and is killed after
`seconds` by the wall clock. A reader that loops, crashes or explodes in memory costs
one refusal, never the app. Plain text needs no parser: only as many bytes as the
character limit can use are read, and decoded.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from .. import messages
from .kinds import Kind, text_encoding

READER = Path(__file__).with_name("reader.py")
# PDFium and the interpreter take about 100 MB; a large document's pages need the rest.
MEMORY_BYTES = 1 << 30
CPU_SECONDS = 20
WALL_SECONDS = 30.0
MAX_PAGES = 2000
# Children at once in one process: the machine's cores are the app's too.
READERS = 2
FEED_BYTES = 256 * 1024
_REASONS = {
    "locked": messages.PDF_LOCKED,
    "broken": messages.DOCUMENT_BROKEN,
    "bomb": messages.DOCX_BOMB,
    "not_docx": messages.NOT_A_DOCX,
    "memory": messages.DOCUMENT_TOO_HUNGRY,
}

_readers: asyncio.Semaphore | None = None


class NotRead(Exception):
    """The document cannot be read; the message says why, for the person who attached it."""


@dataclass(frozen=True, slots=True)
class Text:
    """What was read of a document: its text, and how much of the document that covers."""

    text: str
    cut: bool = False
    pages: int | None = None
    read_pages: int | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one document may cost to read."""

    chars: int
    pages: int = MAX_PAGES
    seconds: float = WALL_SECONDS
    memory: int = MEMORY_BYTES
    cpu: int = CPU_SECONDS


async def read(kind: Kind, read_bytes: Callable[[int], Awaitable[bytes]], limits: Limits) -> Text:
    """A document's text, read from `read_bytes` a chunk at a time; NotRead, saying why, when it cannot be."""
    if kind is Kind.TEXT:
        return await _plain_text(read_bytes, limits.chars)
    global _readers
    if _readers is None:
        _readers = asyncio.Semaphore(READERS)
    async with _readers:
        return await _in_child(kind, read_bytes, limits)


async def _plain_text(read_bytes: Callable[[int], Awaitable[bytes]], chars: int) -> Text:
    # Four bytes a character at most: enough for the limit, and a byte more tells whether it was cut.
    head = await read_bytes(chars * 4 + 1)
    encoding = text_encoding(head[:8192]) or "utf-8"
    text = head.decode(encoding, errors="replace").replace("\r\n", "\n")
    more = bool(await read_bytes(1)) or len(text) > chars
    return Text(text[:chars], cut=more)


async def _in_child(kind: Kind, read_bytes: Callable[[int], Awaitable[bytes]], limits: Limits) -> Text:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        str(READER),
        kind.value,
        str(limits.pages),
        str(limits.chars),
        str(limits.memory),
        str(limits.cpu),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(limits.seconds):
            output = await _exchange(child, read_bytes, limits.chars * 8 + 4096)
            await child.wait()
    except TimeoutError:
        raise NotRead(messages.document_too_slow(limits.seconds)) from None
    finally:
        if child.returncode is None:
            with suppress(ProcessLookupError):
                child.kill()
            await child.wait()
    if child.returncode == -signal.SIGXCPU:
        raise NotRead(messages.document_too_slow(limits.cpu))
    if child.returncode != 0 or not output:
        killed = child.returncode in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS)
        raise NotRead(messages.DOCUMENT_TOO_HUNGRY if killed else messages.DOCUMENT_BROKEN)
    try:
        result = json.loads(output)
    except ValueError:
        raise NotRead(messages.DOCUMENT_BROKEN) from None
    if refused := result.get("refused"):
        raise NotRead(_REASONS.get(refused, messages.DOCUMENT_BROKEN))
    return Text(
        text=str(result.get("text") or ""),
        cut=bool(result.get("cut")),
        pages=result.get("pages"),
        read_pages=result.get("read_pages"),
    )


async def _exchange(
    child: asyncio.subprocess.Process, read_bytes: Callable[[int], Awaitable[bytes]], most: int
) -> bytes:
    """Feed the child the document while reading what it prints (at most `most` bytes)."""
    assert child.stdin is not None and child.stdout is not None
    stdin, stdout = child.stdin, child.stdout

    async def feed() -> None:
        try:
            while chunk := await read_bytes(FEED_BYTES):
                stdin.write(chunk)
                await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child stopped reading: it has its answer already
        finally:
            stdin.close()

    feeding = asyncio.create_task(feed())
    try:
        output = await stdout.read(most + 1)
        while len(output) <= most and (more := await stdout.read(most + 1 - len(output))):
            output += more
        await feeding
    finally:
        feeding.cancel()
    if len(output) > most:
        raise NotRead(messages.DOCUMENT_BROKEN)
    return output
