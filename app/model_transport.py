"""A lean HTTP/1.1 transport under the openai SDK: keep-alive connections read by an asyncio protocol.

The SDK keeps building requests, authenticating, and turning statuses into errors;
only the bytes on the wire go through here. Its default transport (httpcore over
anyio) spends tens of microseconds on every chunk it reads, and an answer is hundreds
of chunks, a busy worker thousands of answers. This speaks the part of HTTP/1.1 a
model server needs (keep-alive, Content-Length and chunked bodies, TLS) and hands
each wake-up everything that has arrived, so a loaded process reads several chunks
per step instead of one.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import httpx2

# A response head larger than this is not from a model server.
MAX_HEAD_BYTES = 64 * 1024
# Reading pauses when this much has arrived unread (a slow consumer of a fast stream).
HIGH_WATER_BYTES = 1024 * 1024
IDLE_SECONDS = 30.0
MAX_IDLE_PER_ORIGIN = 100

Origin = tuple[str, str, int]


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: what arrived, whether it closed, and who waits for more."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.received = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        # A read timeout needs no timer per chunk: one timer checks when data last came.
        self._last_data = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as such.
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.received = True
        self._last_data = self.loop.time()
        if len(self.buffer) > HIGH_WATER_BYTES and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def more(self, timeout: float | None) -> None:
        """Wait for more bytes or the close; TimeoutError after `timeout` seconds without a byte."""
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        self._waiter = self.loop.create_future()
        if timeout is not None:
            self._last_data = max(self._last_data, self.loop.time())
            if self._timer is None:
                self._timer = self.loop.call_at(self._last_data + timeout, self._check_idle, timeout)
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _check_idle(self, timeout: float) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        quiet_until = self._last_data + timeout
        if self.loop.time() >= quiet_until:
            waiter.set_exception(TimeoutError())
        else:
            self._timer = self.loop.call_at(quiet_until, self._check_idle, timeout)

    def close(self) -> None:
        """Drop the connection at once (a half-read response cannot be reused)."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.transport.abort()


class LeanTransport(httpx2.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive for the SDK's client; one pool of idle connections per origin."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}
        # Responses handed out and not yet closed: a leak shows here.
        self.open_responses = 0

    @property
    def idle_connections(self) -> int:
        """Kept-alive connections waiting for the next request."""
        return sum(len(idle) for idle in self._idle.values())

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout") or {}
        url = request.url
        origin = (url.scheme, url.raw_host.decode("ascii"), url.port or _default_port(url.scheme))
        payload = await _serialise(request)
        for attempt in range(2):
            connection, reused = self._take_idle(origin), True
            if connection is None:
                connection, reused = await self._connect(origin, timeouts.get("connect"), request), False
            assert connection.transport is not None
            connection.received = False
            connection.transport.write(payload)
            try:
                version, status, reason, headers = await _read_head(connection, timeouts.get("read"), request)
            except httpx2.RemoteProtocolError:
                connection.close()
                # A kept-alive connection the server had already closed: try once on a fresh one.
                if reused and attempt == 0 and not connection.received:
                    continue
                raise
            except BaseException:
                connection.close()
                raise
            body = _Body(self, origin, connection, request, headers, status, timeouts.get("read"))
            self.open_responses += 1
            if version == b"HTTP/1.0":
                body.reusable = False
            return httpx2.Response(
                status,
                headers=headers,
                stream=body,
                extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
            )
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _take_idle(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if (
                not connection.closed
                and not connection.buffer
                and (connection.loop.time() - connection.idle_since < IDLE_SECONDS)
            ):
                return connection
            connection.close()
        return None

    def release(self, origin: Origin, connection: _Connection) -> None:
        """Keep a connection whose response was read to the end, for the next request."""
        idle = self._idle.setdefault(origin, [])
        if connection.closed or connection.buffer or len(idle) >= MAX_IDLE_PER_ORIGIN:
            connection.close()
            return
        connection.idle_since = connection.loop.time()
        idle.append(connection)

    async def _connect(self, origin: Origin, timeout: float | None, request: httpx2.Request) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context = None
        if scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = httpx2.create_ssl_context()
            context = self._ssl_context
        try:
            async with asyncio.timeout(timeout):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(loop),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context else None,
                )
        except TimeoutError:
            raise httpx2.ConnectTimeout(f"Timed out connecting to {host}:{port}", request=request) from None
        except (OSError, ssl.SSLError) as error:
            raise httpx2.ConnectError(
                f"Could not connect to {host}:{port}: {error}", request=request
            ) from None
        return protocol


class _Body(httpx2.AsyncByteStream):
    """A response body as it arrives: everything buffered is handed over at each wake-up."""

    def __init__(
        self,
        transport: LeanTransport,
        origin: Origin,
        connection: _Connection,
        request: httpx2.Request,
        headers: list[tuple[bytes, bytes]],
        status: int,
        timeout: float | None,
    ) -> None:
        self.transport, self.origin, self.connection = transport, origin, connection
        self.request, self.timeout = request, timeout
        self.complete = False
        self.closed = False
        self.reusable = True
        self.chunked = False
        self.remaining: int | None = None  # bytes left of a Content-Length body or of the current chunk
        self._chunk_tail = False  # the CRLF after a chunk's data is still to come
        self._trailers = False
        self._frame(headers, status)

    def _frame(self, headers: list[tuple[bytes, bytes]], status: int) -> None:
        values: dict[bytes, bytes] = {}
        for name, value in headers:
            values[name.lower()] = value.lower()
        if b"close" in values.get(b"connection", b""):
            self.reusable = False
        if self.request.method == "HEAD" or status in (204, 304):
            self.complete = True
        elif b"chunked" in values.get(b"transfer-encoding", b""):
            self.chunked, self.remaining = True, 0
        elif (length := values.get(b"content-length")) is not None:
            try:
                self.remaining = int(length)
            except ValueError:
                raise httpx2.RemoteProtocolError("Invalid Content-Length", request=self.request) from None
            self.complete = self.remaining == 0
        else:
            self.reusable = False  # the body ends when the server closes the connection

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self.connection
        while not self.complete:
            data = self._take_chunked() if self.chunked else self._take()
            if data:
                yield data
                continue
            if self.complete:
                break
            if connection.closed:
                if self.remaining is None:
                    self.complete = True
                    break
                raise httpx2.RemoteProtocolError(
                    "The server closed the connection before the response ended.", request=self.request
                )
            try:
                await connection.more(self.timeout)
            except TimeoutError:
                raise httpx2.ReadTimeout("Timed out reading the response.", request=self.request) from None

    def _take(self) -> bytes:
        buffer = self.connection.buffer
        if self.remaining is None:
            data = bytes(buffer)
        else:
            data = bytes(buffer[: self.remaining])
            self.remaining -= len(data)
            self.complete = self.remaining == 0
        del buffer[: len(data)]
        return data

    def _take_chunked(self) -> bytes:
        """Decode as many chunks as have fully or partly arrived."""
        buffer = self.connection.buffer
        parts: list[bytes] = []
        at = 0
        while True:
            if self.remaining:
                piece = bytes(buffer[at : at + self.remaining])
                if not piece:
                    break
                parts.append(piece)
                at += len(piece)
                self.remaining -= len(piece)
                if self.remaining:
                    break
                self._chunk_tail = True
            if self._chunk_tail:
                if len(buffer) - at < 2:
                    break
                if buffer[at : at + 2] != b"\r\n":
                    raise httpx2.RemoteProtocolError("Malformed chunked body.", request=self.request)
                at += 2
                self._chunk_tail = False
            if self._trailers:
                if buffer[at : at + 2] == b"\r\n":
                    at += 2
                else:
                    end = buffer.find(b"\r\n\r\n", at)
                    if end < 0:
                        break
                    at = end + 4
                self.complete = True
                break
            end = buffer.find(b"\r\n", at)
            if end < 0:
                if len(buffer) - at > 1024:
                    raise httpx2.RemoteProtocolError("Malformed chunk size.", request=self.request)
                break
            try:
                size = int(bytes(buffer[at:end]).split(b";", 1)[0], 16)
            except ValueError:
                raise httpx2.RemoteProtocolError("Malformed chunk size.", request=self.request) from None
            at = end + 2
            if size == 0:
                self._trailers = True
                if len(buffer) - at < 2:
                    break
                continue
            self.remaining = size
        del buffer[:at]
        return b"".join(parts)

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.transport.open_responses -= 1
        if not self.complete and self.chunked and not self.connection.closed:
            # A reader that stopped at the stream's last event leaves the body's end
            # unread; when it has arrived, the connection can still be kept.
            try:
                self._take_chunked()
            except httpx2.RemoteProtocolError:
                pass
        if self.complete and self.reusable and not self.connection.closed:
            self.transport.release(self.origin, self.connection)
        else:
            self.connection.close()


async def _serialise(request: httpx2.Request) -> bytes:
    """The request's head and body as they go on the wire."""
    body = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
    headers = request.headers.raw
    chunked = any(name.lower() == b"transfer-encoding" for name, _ in headers)
    if chunked:
        body = (b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)) if body else b"0\r\n\r\n"
    lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
    lines += [b"%s: %s" % (name, value) for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def _read_head(
    connection: _Connection, timeout: float | None, request: httpx2.Request
) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]:
    """Read a response's status line and headers, skipping interim (1xx) responses."""
    while True:
        buffer = connection.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise httpx2.RemoteProtocolError("The response head is too large.", request=request)
            if connection.closed:
                raise httpx2.RemoteProtocolError(
                    "The server closed the connection without answering.", request=request
                )
            try:
                await connection.more(timeout)
            except TimeoutError:
                raise httpx2.ReadTimeout("Timed out waiting for the response.", request=request) from None
            continue
        lines = bytes(buffer[:end]).split(b"\r\n")
        del buffer[: end + 4]
        version, status, reason = _status_line(lines[0], request)
        if 100 <= status < 200:
            continue
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                raise httpx2.RemoteProtocolError("Malformed response header.", request=request)
            headers.append((name.strip(), value.strip()))
        return version, status, reason, headers


def _status_line(line: bytes, request: httpx2.Request) -> tuple[bytes, int, bytes]:
    version, _, rest = line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise httpx2.RemoteProtocolError("The server did not answer in HTTP/1.1.", request=request)
    return version, int(code), reason


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80
