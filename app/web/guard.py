"""The last word on every response sent: security headers, path-only redirects, refusals at the edge."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from quart import Quart

from .. import asgi
from ..logs import clip, masked, secrets_in_path
from .request_log import LOGGED_PATH_CHARS
from .security import SECURITY_HEADERS

log = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]

_SECURITY: Headers = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
FAILED = b"Something went wrong on our side. Try again in a moment.\n"
NOT_HERE = b"There is nothing at this address.\n"
_BLANKS = "".join(chr(code) for code in range(0x21))
BAD_HOST = b"The request could not be understood: its Host header names no host.\n"


class ResponseGuard:
    """ASGI middleware: every response gets the security headers and a path-only Location.

    What the app itself cannot answer is answered here, in plain text: a WebSocket (the
    app serves none), a Host header no address can be built from, and a failure that
    escaped the app's own error handling.
    """

    def __init__(self, app: asgi.ASGIApp, sign_in_origin: str = "") -> None:
        self.app = app
        # The one other site a redirect may name: the OpenID provider people sign in at.
        self.sign_in_origin = sign_in_origin

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await _refuse_websocket(scope, send)
        elif scope["type"] != "http":
            await self.app(scope, receive, send)
        elif not _routable_host(scope):
            await _send_plain(send, 400, BAD_HOST)
        else:
            await self._guarded(scope, receive, send)

    async def _guarded(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = False

        async def send_guarded(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = message.get("headers", ())
                message = {**message, "headers": guarded_headers(headers, self.sign_in_origin)}
            await send(message)

        try:
            await self.app(scope, receive, send_guarded)
        except Exception:
            if started:
                raise
            log.exception("the app failed without answering; a plain 500 was sent")
            await _send_plain(send, 500, FAILED)


def guarded_headers(headers: Iterable[tuple[bytes, bytes]], sign_in_origin: str = "") -> Headers:
    """The headers with a path-only Location (or one at the sign-in site), plus missing security headers."""
    kept = [
        (name, _location(value, sign_in_origin) if name.lower() == b"location" else value)
        for name, value in headers
    ]
    present = {name.lower() for name, _ in kept}
    return kept + [(name, value) for name, value in _SECURITY if name not in present]


def _location(location: bytes, sign_in_origin: str) -> bytes:
    if sign_in_origin and location.decode("latin-1").startswith(sign_in_origin + "/"):
        return location
    return path_only(location)


def path_only(location: bytes) -> bytes:
    """A redirect target without scheme or host (Werkzeug builds some from the Host header), never `//…`."""
    text = location.decode("latin-1")
    if text.startswith("/") and text[1:2] not in ("/", "\\") and text.isprintable():
        return location
    # Browsers skip leading blanks and controls and read a backslash as a slash:
    # " //host" or "/\host" is a host.
    try:
        parts = urlsplit(text.lstrip(_BLANKS))
    except ValueError:
        return b"/"
    path = "/" + parts.path.lstrip("/\\")
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{path}{query}{fragment}".encode("latin-1")


def _routable_host(scope: dict[str, Any]) -> bool:
    """Whether Werkzeug can build addresses from the Host header (it IDNA-encodes the name)."""
    host = next((value for name, value in scope.get("headers", ()) if name == b"host"), b"")
    try:
        host.decode("latin-1").lower().partition(":")[0].encode("idna")
    except UnicodeError:
        return False
    return True


async def _refuse_websocket(scope: dict[str, Any], send: Any) -> None:
    # A server without the HTTP-response extension turns a close before the handshake into a 403.
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send(
            {"type": "websocket.http.response.start", "status": 404, "headers": _plain_headers(NOT_HERE)}
        )
        await send({"type": "websocket.http.response.body", "body": NOT_HERE, "more_body": False})
    else:
        await send({"type": "websocket.close", "code": 1000})
    path = masked(scope.get("path", ""), secrets_in_path.get())
    log.info("websocket refused", extra={"path": clip(path, LOGGED_PATH_CHARS)})


async def _send_plain(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _plain_headers(body)})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _plain_headers(body: bytes) -> Headers:
    return [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *_SECURITY,
    ]


def init_app(app: Quart) -> None:
    """Put the guard around the app."""
    config = app.config["ANSWERS"]
    origin = ""
    if config.sign_in_mode == "oidc":
        parts = urlsplit(config.oidc_issuer)
        origin = f"{parts.scheme}://{parts.netloc}"
    asgi.wrap(app, lambda inner: ResponseGuard(inner, origin))
