"""A lean HTTP/1.1 client that plays many browsers asking at once, for the benchmarks.

It speaks just enough HTTP (keep-alive, Content-Length and chunked bodies) to drive
the chat the way htmx does: open the page, post a question, read the answer's event
stream to `done`. Its own cost per chat stays small so the server is what is measured.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import brotli

CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
ANSWER_ID = re.compile(rb'id="answer-(\d+)"')
COOKIE = re.compile(rb"^set-cookie:\s*([^=]+=[^;]*)", re.IGNORECASE | re.MULTILINE)
# What a browser accepts: the server compresses pages and fragments as it would for one.
ACCEPT_ENCODING = "br, gzip"


class HTTPError(Exception):
    """The server answered with an unexpected status."""


@dataclass
class Reply:
    """A response: status, raw head and body."""

    status: int
    head: bytes
    body: bytes


class Connection:
    """One keep-alive connection to the server."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=2**20)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass

    async def send(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> None:
        if self.writer is None:
            await self.open()
        assert self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    async def head(self) -> tuple[int, bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        return int(head[9:12]), head

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Reply:
        await self.send(method, path, {"Accept-Encoding": ACCEPT_ENCODING, **headers}, body)
        status, head = await self.head()
        return Reply(status, head, decoded(head, await self.body(head)))

    async def body(self, head: bytes) -> bytes:
        assert self.reader is not None
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            return b"".join([chunk async for chunk in self.chunks()])
        match = re.search(rb"content-length:\s*(\d+)", lower)
        return await self.reader.readexactly(int(match.group(1))) if match else b""

    async def chunks(self):
        """Yield the chunks of a chunked body as they arrive."""
        assert self.reader is not None
        while True:
            size = int((await self.reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return
            data = await self.reader.readexactly(size + 2)
            yield data[:-2]


def decoded(head: bytes, body: bytes) -> bytes:
    """A body as sent before the server compressed it."""
    coding = re.search(rb"content-encoding:\s*(\S+)", head.lower())
    if coding is None:
        return body
    return brotli.decompress(body) if coding.group(1) == b"br" else gzip.decompress(body)


@dataclass
class Chat:
    """Timings of one chat turn, in seconds since the run started."""

    opened: float = 0.0
    posted: float = 0.0
    page_seconds: float = 0.0
    ask_seconds: float = 0.0
    stream_sent: float = 0.0
    first_text: float | None = None
    done: float | None = None
    error: str | None = None
    deltas: int = 0


@dataclass
class Visitor:
    """A browser: its connection, cookie and CSRF token."""

    host: str
    port: int
    connection: Connection = field(init=False)
    cookie: str = ""
    csrf: str = ""

    def __post_init__(self) -> None:
        self.connection = Connection(self.host, self.port)

    async def open_page(self) -> None:
        reply = await self.connection.request("GET", "/", {"Cookie": self.cookie} if self.cookie else {})
        if reply.status != 200:
            raise HTTPError(f"GET / gave {reply.status}")
        self.cookie = "; ".join(c.decode() for c in COOKIE.findall(reply.head)) or self.cookie
        self.csrf = CSRF.search(reply.body).group(1).decode()

    async def ask(self, question: str) -> str:
        """Post a question as htmx does; return the id of its answer."""
        body = urlencode({"question": question, "conversation_id": "", "csrf_token": self.csrf}).encode()
        reply = await self.connection.request(
            "POST",
            "/ask",
            {
                "Cookie": self.cookie,
                "HX-Request": "true",
                "X-CSRF-Token": self.csrf,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body,
        )
        if reply.status != 200:
            raise HTTPError(f"POST /ask gave {reply.status}")
        return ANSWER_ID.search(reply.body).group(1).decode()

    async def follow(self, answer_id: str, result: Chat, started: float, last_id: str | None = None) -> None:
        """Read an answer's event stream to `done` (from `last_id` on, as a reconnecting browser does)."""
        headers = {"Cookie": self.cookie, "Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        await self.connection.send("GET", f"/answers/{answer_id}/stream", headers)
        status, _head = await self.connection.head()
        if status != 200:
            raise HTTPError(f"stream gave {status}")
        tail = b""
        async for chunk in self.connection.chunks():
            if result.first_text is None and b"event: delta" in chunk:
                result.first_text = time.perf_counter() - started
            result.deltas += chunk.count(b"event: delta")
            tail = (tail + chunk)[-64:]
            if b"event: done" in tail:
                result.done = time.perf_counter() - started
        if result.done is None:
            raise HTTPError("stream ended without done")

    async def chat(self, question: str, started: float) -> Chat:
        """Post a question and read its answer stream to the end."""
        result = Chat(posted=time.perf_counter() - started)
        try:
            answer_id = await self.ask(question)
            result.stream_sent = time.perf_counter() - started
            result.ask_seconds = result.stream_sent - result.posted
            await self.follow(answer_id, result, started)
        except Exception as error:  # every failure is counted, none stops the run
            result.error = f"{type(error).__name__}: {error}"
        return result


async def run_chats(
    host: str,
    port: int,
    count: int,
    question: str = "Tell me about streaming.",
    on_start: Callable[[], None] | None = None,
    over: float = 0.0,
) -> list[Chat]:
    """Have `count` browsers arrive (`on_start` marks the moment): each loads the page, then asks.

    They arrive at once, connected beforehand, or evenly `over` that many seconds, each
    connecting as it arrives.
    """
    visitors = [Visitor(host, port) for _ in range(count)]
    if not over:
        await asyncio.gather(*(v.connection.open() for v in visitors))
    if on_start is not None:
        on_start()
    started = time.perf_counter()

    async def visit(number: int, visitor: Visitor) -> Chat:
        if over:
            await asyncio.sleep(started + over * number / count - time.perf_counter())
        opened = time.perf_counter() - started
        try:
            await visitor.open_page()
        except Exception as error:  # counted, not raised
            return Chat(opened=opened, error=f"{type(error).__name__}: {error}")
        chat = await visitor.chat(question, started)
        chat.opened = opened
        chat.page_seconds = chat.posted - opened
        return chat

    chats = await asyncio.gather(*(visit(n, v) for n, v in enumerate(visitors)))
    await asyncio.gather(*(v.connection.close() for v in visitors))
    return list(chats)


async def run_sequential(
    host: str, port: int, count: int, question: str = "How fast is the first word?"
) -> list[Chat]:
    """One browser asking `count` questions one after another (no load: latency only)."""
    visitor = Visitor(host, port)
    await visitor.open_page()
    started = time.perf_counter()
    chats = [await visitor.chat(question, started) for _ in range(count)]
    await visitor.connection.close()
    return chats


async def run_form_posts(
    host: str, port: int, count: int, question: str = "Tell me about streaming."
) -> list[Chat]:
    """Post `count` questions at once to a classic app that answers each request in full."""

    async def one(started: float) -> Chat:
        result = Chat(posted=time.perf_counter() - started)
        connection = Connection(host, port)
        try:
            reply = await connection.request(
                "POST",
                "/ask",
                {"Content-Type": "application/x-www-form-urlencoded"},
                urlencode({"question": question}).encode(),
            )
            if reply.status not in (200, 303):
                raise HTTPError(f"POST /ask gave {reply.status}")
            result.done = time.perf_counter() - started
        except Exception as error:  # counted, not raised
            result.error = f"{type(error).__name__}: {error}"
        finally:
            await connection.close()
        return result

    started = time.perf_counter()
    return list(await asyncio.gather(*(one(started) for _ in range(count))))
