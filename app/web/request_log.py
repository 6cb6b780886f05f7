"""One log line and one count per request, with an id the load balancer can follow."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any, cast

from quart import Quart, request

from .. import asgi, metrics
from ..logs import clip, configure, request_id, secrets_in_path
from .secret_paths import SecretPaths

log = logging.getLogger("app.requests")

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# A request's method and path come from the client: a log line keeps only their start.
LOGGED_METHOD_CHARS = 16
LOGGED_PATH_CHARS = 256
# Shorter than any token the app makes: masking it in every line would only garble the log.
MASKED_SECRET_CHARS = 8


class RequestFailed(Exception):
    """A response failed after it began; its cause is logged, with the request's secrets masked."""


class RequestLog:
    """ASGI middleware: give each request an id, then log and count it once its body has been sent.

    A secret in the path (a link's token) is masked in the request's line and in every
    line logged while the request runs, tracebacks included.
    """

    def __init__(self, app: asgi.ASGIApp, routes: Quart) -> None:
        self.app = app
        self.routes = routes
        self._secret_paths: SecretPaths | None = None

    @property
    def secret_paths(self) -> SecretPaths:
        # Read once every blueprint is registered: at the first request.
        if self._secret_paths is None:
            self._secret_paths = SecretPaths(self.routes.url_map.iter_rules())
        return self._secret_paths

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        found = self.secret_paths.secrets(scope["path"])
        masking = secrets_in_path.set(tuple(s for s in found if len(s) >= MASKED_SECRET_CHARS))
        try:
            if scope["type"] == "http":
                await self._logged(scope, receive, send)
            else:
                await self.app(scope, receive, send)
        except Exception as error:
            if not found:
                raise
            # The server would log the traceback outside this request's masking: log it here, masked.
            log.error("the response failed after it began", exc_info=error)
            raise RequestFailed("the response failed after it began; see the line logged before") from None
        finally:
            secrets_in_path.reset(masking)

    async def _logged(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        current = sent if _VALID_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        token = request_id.set(current)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", current.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route") or metrics.UNMATCHED_ROUTE
            metrics.count_request(scope["method"], route, status, seconds)
            # The path without its query string, and without the secret of a link: searches
            # and tokens stay out of the logs.
            log.info(
                "request",
                extra={
                    "method": clip(scope["method"], LOGGED_METHOD_CHARS),
                    "route": route,
                    "path": clip(self.secret_paths.mask(scope["path"]), LOGGED_PATH_CHARS),
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            request_id.reset(token)


async def _note_route() -> None:
    if request.url_rule is not None:
        # The request log reads the route from the scope it shares with the app (ASGI allows extra keys).
        cast(asgi.Scope, request.scope)["route"] = request.url_rule.rule


def init_app(app: Quart) -> None:
    """Log as JSON and wrap the app so every request is logged and counted."""
    configure(app.config["ANSWERS"].log_level)
    app.before_request(_note_route)
    asgi.wrap(app, lambda inner: RequestLog(inner, app))
