"""Pages, fragments and exports compressed as the browser accepts: brotli or gzip.

The answer's event stream is left as it is: each event must reach the browser the moment
it is sent, and compressing a few bytes every 50 ms would cost CPU for nothing.
"""

from __future__ import annotations

import zlib
from typing import Any

import brotli
from quart import Quart

from .. import asgi
from .encoding import accepted_coding, compressible

# Below this a body gains nothing worth the work (and the headers' bytes).
MIN_BYTES = 512
# Quick settings: a page is compressed each time it is served. Static files get the best, once.
# Brotli 4 and gzip 6 cost 0.10-0.16 ms of CPU per page for 5-8 % fewer bytes than these
# (0.03-0.05 ms): a tenth of a millisecond of every chat turn, for a hundred bytes of a page.
BROTLI_QUALITY = 2
GZIP_LEVEL = 3


class Compressor:
    """One response's compressor; each `push` returns what can be sent at once."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        if coding == "br":
            self._brotli = brotli.Compressor(quality=BROTLI_QUALITY)
        else:
            self._gzip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)

    def push(self, data: bytes, last: bool) -> bytes:
        if self.coding == "br":
            out = self._brotli.process(data)
            return out + (self._brotli.finish() if last else self._brotli.flush())
        out = self._gzip.compress(data)
        return out + self._gzip.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def compressed(coding: str, body: bytes) -> bytes:
    """A whole body compressed in the coding given ("br" or "gzip")."""
    if coding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    gzip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return gzip.compress(body) + gzip.flush()


class Compression:
    """ASGI middleware: compress text responses in the coding the request accepts."""

    def __init__(self, app: asgi.ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        coding = accepted_coding(scope["headers"])
        start: dict[str, Any] | None = None
        compressor: Compressor | None = None
        # Quart sends a page as its body then an empty last message: the body waits for that one,
        # so that a whole page is compressed in one call and sent with its length.
        held: bytes | None = None
        passing = False

        async def send_whole(body: bytes) -> None:
            nonlocal passing
            assert start is not None and coding is not None
            passing = True
            if len(body) < MIN_BYTES:
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            # No compressor waits with the page while it is sent (brotli's holds 0.3 MB: a
            # thousand pages at once held 300 MB).
            packed = compressed(coding, body)
            await send(_encoded_start(start, coding, len(packed)))
            await send({"type": "http.response.body", "body": packed, "more_body": False})

        async def send_compressed(message: dict[str, Any]) -> None:
            nonlocal start, compressor, held, passing
            if passing:
                await send(message)
            elif message["type"] == "http.response.start":
                headers = message.get("headers", ())
                if not _worth_compressing(message["status"], headers):
                    passing = True
                    await send(message)
                else:
                    start = {**message, "headers": _with_vary(headers)}
                    if coding is None:
                        passing = True
                        await send(start)
            elif message["type"] == "http.response.body" and start is not None:
                body, more = message.get("body", b""), message.get("more_body", False)
                if compressor is None:
                    if held is None and more:
                        held = body
                        return
                    if held is not None and not (more or body):
                        await send_whole(held)
                        return
                    if held is None:
                        await send_whole(body)
                        return
                    assert coding is not None
                    # A body in several parts (an export): compressed as it comes, each part flushed.
                    compressor = Compressor(coding)
                    packed = compressor.push(held, False) + compressor.push(body, not more)
                    held = None
                    await send(_encoded_start(start, coding, None))
                else:
                    packed = compressor.push(body, not more)
                await send({**message, "body": packed})
            else:
                await send(message)

        await self.app(scope, receive, send_compressed)


def _worth_compressing(status: int, headers: Any) -> bool:
    if status < 200 or status in (204, 304):
        return False
    content_type = b""
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-encoding":
            return False
        if lower == b"content-type":
            content_type = value
    return compressible(content_type)


def _with_vary(headers: Any) -> list[tuple[bytes, bytes]]:
    """The headers, their Vary naming Accept-Encoding too."""
    kept, vary = [], []
    for name, value in headers:
        if name.lower() == b"vary":
            vary.append(value)
        else:
            kept.append((name, value))
    vary.append(b"Accept-Encoding")
    return [*kept, (b"vary", b", ".join(vary))]


def _encoded_start(start: dict[str, Any], coding: str, length: int | None) -> dict[str, Any]:
    """The start message for a compressed body, with its length when it is whole."""
    headers = [(name, value) for name, value in start["headers"] if name.lower() != b"content-length"]
    headers.append((b"content-encoding", coding.encode()))
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {**start, "headers": headers}


def init_app(app: Quart) -> None:
    """Put compression around the app."""
    asgi.wrap(app, Compression)
