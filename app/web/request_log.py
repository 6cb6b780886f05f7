"""One log line and one count per request, with an id the load balancer can follow."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any, cast

from quart import Quart, request

from .. import asgi, metrics
from ..logs import clip, configure, request_id

log = logging.getLogger("app.requests")

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# A request's method and path come from the client: a log line keeps only their start.
LOGGED_METHOD_CHARS = 16
LOGGED_PATH_CHARS = 256


class RequestLog:
    """ASGI middleware: give each request an id, then log and count it once its body has been sent."""

    def __init__(self, app: asgi.ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
            # The path without its query string: searches and tokens stay out of the logs.
            log.info(
                "request",
                extra={
                    "method": clip(scope["method"], LOGGED_METHOD_CHARS),
                    "route": route,
                    "path": clip(scope["path"], LOGGED_PATH_CHARS),
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
    asgi.wrap(app, RequestLog)
