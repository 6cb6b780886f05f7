"""Prometheus metrics of the app, and the `/metrics` page that exposes them.

With several Hypercorn workers, set PROMETHEUS_MULTIPROC_DIR to an empty folder
before start-up: every worker then writes its figures there and `/metrics`, served
by any worker, adds them up (the container image does this).
"""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from pymysql.err import MySQLError

from .storage.base import DatabaseUnavailable

if TYPE_CHECKING:
    from .storage.exchanges import Outcome

DATABASE_FAILURES = (DatabaseUnavailable, sqlite3.Error, MySQLError)

# Answers take seconds, not milliseconds: buckets up to two minutes.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)

requests = Counter("answers_http_requests", "HTTP requests served, by route and status.", ["method", "route", "status"])
request_seconds = Histogram(
    "answers_http_request_duration_seconds", "Time from request to the end of the response body.", ["route"],
)
answers = Counter("answers_answers", "Answers finished, by how they ended.", ["status"])
first_token_seconds = Histogram(
    "answers_time_to_first_token_seconds", "Time from claiming a question to its first streamed text.",
    buckets=LATENCY_BUCKETS,
)
answer_seconds = Histogram(
    "answers_answer_duration_seconds", "Time from claiming a question to storing its answer.",
    buckets=LATENCY_BUCKETS,
)
tokens = Counter("answers_tokens", "Tokens reported by the model.", ["direction"])
database_errors = Counter("answers_database_errors", "Requests or writes that failed because of the database.")
spooled_writes = Counter("answers_spooled_writes", "Writes kept in the local spool while the database was away.")


def exposition() -> tuple[bytes, str]:
    """Render every metric in Prometheus text format, summed over workers when there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def count_answer(outcome: Outcome) -> None:
    """Count a finished answer: its status, duration and tokens."""
    answers.labels(outcome.status).inc()
    if outcome.latency_ms is not None:
        answer_seconds.observe(outcome.latency_ms / 1000)
    tokens.labels("in").inc(outcome.prompt_tokens or 0)
    tokens.labels("out").inc(outcome.completion_tokens or 0)


def count_error(error: BaseException) -> None:
    """Count a request that failed on an unexpected error, if the database caused it."""
    if isinstance(error, DATABASE_FAILURES):
        database_errors.inc()
