"""CORS for the API: closed unless API_CORS_ORIGINS names the sites whose pages may call it."""

from __future__ import annotations

from typing import Any

from quart import Quart

from .. import asgi

PREFIX = "/v1/"
ALLOWED_METHODS = b"GET, POST"
EXPOSED = b"Retry-After, X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
PREFLIGHT_SECONDS = b"600"


class Cors:
    """ASGI middleware: answer the API's preflights, and let listed origins read its responses.

    Keys travel in the Authorization header, never in cookies, so no credentials are allowed.
    """

    def __init__(self, app: Any, origins: tuple[str, ...]) -> None:
        self.app = app
        self.origins = frozenset(origin.encode() for origin in origins)

    def allowed(self, origin: bytes) -> bytes | None:
        """The Access-Control-Allow-Origin value for an origin, or None when it is not allowed."""
        if b"*" in self.origins:
            return b"*"
        return origin if origin in self.origins else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        allowed = self.allowed(origin) if origin else None
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await self._preflight(send, allowed, headers.get(b"access-control-request-headers", b""))
            return
        if allowed is None:
            await self.app(scope, receive, send)
            return

        async def send_allowed(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"access-control-allow-origin", allowed),
                    (b"access-control-expose-headers", EXPOSED),
                    (b"vary", b"Origin"),
                ]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_allowed)

    async def _preflight(self, send: Any, allowed: bytes | None, asked_headers: bytes) -> None:
        headers = [(b"vary", b"Origin"), (b"content-length", b"0")]
        if allowed is not None:
            headers += [
                (b"access-control-allow-origin", allowed),
                (b"access-control-allow-methods", ALLOWED_METHODS),
                # The SDKs send headers of their own besides Authorization and Content-Type.
                (b"access-control-allow-headers", asked_headers or b"Authorization, Content-Type"),
                (b"access-control-max-age", PREFLIGHT_SECONDS),
            ]
        await send({"type": "http.response.start", "status": 204 if allowed else 403, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def init_app(app: Quart) -> None:
    """Put CORS around the app (before the request log and the guard, which then see its answers)."""
    origins = app.config["ANSWERS"].api_cors_origins
    asgi.wrap(app, lambda inner: Cors(inner, origins))
