"""Structured logs: JSON lines on stderr, one per request and one per answer."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import orjson
from quart import Quart, request

from . import metrics

log = logging.getLogger("app.requests")

request_id: ContextVar[str] = ContextVar("request_id", default="-")

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_STANDARD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({key: value for key, value in vars(record).items() if key not in _STANDARD_FIELDS})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def _stamp_request_id(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        if (current := request_id.get()) != "-":
            record.request_id = current
        return record

    make_record.stamps_request_id = True  # type: ignore[attr-defined]
    return make_record


def configure(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON (replacing a handler this function added before)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "stamps_request_id", False):
        # Stamped when the record is made, while the request's context is current.
        logging.setLogRecordFactory(_stamp_request_id(factory))
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "answers_json", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.answers_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # The model client logs every HTTP request at INFO; the answer's own line says more.
    logging.getLogger("httpx2").setLevel("DEBUG" if level == "DEBUG" else "WARNING")


class RequestLog:
    """ASGI middleware: give each request an id, then log and count it once its body has been sent."""

    def __init__(self, app: Any) -> None:
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
            route = scope.get("route", "<unmatched>")
            metrics.requests.labels(scope["method"], route, str(status)).inc()
            metrics.request_seconds.labels(route).observe(seconds)
            # The path without its query string: searches and tokens stay out of the logs.
            log.info(
                "request",
                extra={"method": scope["method"], "route": route, "path": scope["path"],
                       "status": status, "duration_ms": round(seconds * 1000, 1)},
            )
            request_id.reset(token)


async def _note_route() -> None:
    if request.url_rule is not None:
        request.scope["route"] = request.url_rule.rule


def init_app(app: Quart) -> None:
    """Log as JSON and wrap the app so every request is logged and counted."""
    configure(app.config["ANSWERS"].log_level)
    app.before_request(_note_route)
    app.asgi_app = RequestLog(app.asgi_app)  # type: ignore[method-assign]
