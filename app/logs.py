"""Structured logs: every record a JSON line on stderr, stamped with the request it belongs to."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TextIO

import orjson

request_id: ContextVar[str] = ContextVar("request_id", default="-")
# The secrets the current request carries in its path (a link's token): no log line may hold them.
secrets_in_path: ContextVar[tuple[str, ...]] = ContextVar("secrets_in_path", default=())
MASK = "…"

_STANDARD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({key: value for key, value in vars(record).items() if key not in _STANDARD_FIELDS})
        if record.exc_text:
            line["exception"] = record.exc_text
        elif record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class RequestIdStamp:
    """A log record factory that stamps each record with the current request's id."""

    stamps_request_id = True

    def __init__(self, factory: Callable[..., logging.LogRecord]) -> None:
        self.factory = factory

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.factory(*args, **kwargs)
        if (current := request_id.get()) != "-":
            record.request_id = current
        if secrets := secrets_in_path.get():
            _mask_record(record, secrets)
        return record


class JsonHandler(logging.StreamHandler[TextIO]):
    """Log records as JSON lines on stderr."""

    answers_json = True


def _mask_record(record: logging.LogRecord, secrets: tuple[str, ...]) -> None:
    """Mask the secrets in a record's message and traceback, whichever handler formats it."""
    record.msg, record.args = masked(record.getMessage(), secrets), None
    if record.exc_info and record.exc_info[0] is not None:
        # Formatted now, masked: every formatter prints `exc_text` rather than formatting again.
        record.exc_text = masked("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"), secrets)


def masked(text: str, secrets: tuple[str, ...]) -> str:
    """The text with each secret replaced by an ellipsis."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def configure(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON (replacing a handler this function added before)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "stamps_request_id", False):
        # Stamped when the record is made, while the request's context is current.
        logging.setLogRecordFactory(RequestIdStamp(factory))
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "answers_json", False)]:
        root.removeHandler(handler)
    handler = JsonHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # The model client logs every HTTP request at INFO; the answer's own line says more.
    logging.getLogger("httpx2").setLevel("DEBUG" if level == "DEBUG" else "WARNING")


def clip(text: str, limit: int) -> str:
    """The text, cut to `limit` characters and an ellipsis when longer."""
    return text if len(text) <= limit else text[:limit] + "…"
