"""Prometheus metrics of the app, and the `/metrics` page that exposes them.

With several Hypercorn workers, set PROMETHEUS_MULTIPROC_DIR to an empty folder
before start-up: every worker then writes its figures there and `/metrics`, served
by any worker, adds them up (the container image does this).
"""

from __future__ import annotations

import os
from http import HTTPStatus

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

# Answers take seconds, not milliseconds: buckets up to two minutes.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)
# Every label value comes from a fixed set: a value per distinct client input would grow without end.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})
KNOWN_STATUSES = frozenset(status.value for status in HTTPStatus)
UNMATCHED_ROUTE = "<unmatched>"

requests = Counter(
    "answers_http_requests", "HTTP requests served, by route and status.", ["method", "route", "status"]
)
request_seconds = Histogram(
    "answers_http_request_duration_seconds",
    "Time from request to the end of the response body.",
    ["route"],
)
answers = Counter("answers_answers", "Answers finished, by how they ended.", ["status"])
first_token_seconds = Histogram(
    "answers_time_to_first_token_seconds",
    "Time from claiming a question to its first streamed text.",
    buckets=LATENCY_BUCKETS,
)
answer_seconds = Histogram(
    "answers_answer_duration_seconds",
    "Time from claiming a question to storing its answer.",
    buckets=LATENCY_BUCKETS,
)
tokens = Counter("answers_tokens", "Tokens reported by the model.", ["direction"])
watching_reads = Counter(
    "answers_watching_reads",
    "Reads of answers written by another process, one statement for all of this process's streams.",
)
database_errors = Counter(
    "answers_database_errors", "Requests or writes that failed because of the database."
)
spooled_writes = Counter(
    "answers_spooled_writes", "Writes kept in the local spool while the database was away."
)
webhook_attempts = Counter(
    "answers_webhook_attempts",
    "Webhook deliveries tried, by how they went: sent, failed or dead.",
    ["result"],
)

redis_outages = Counter(
    "answers_redis_outages",
    "Times Redis stopped answering; rate limits were counted in the database meanwhile.",
)
limits_in_database = Counter(
    "answers_limits_counted_in_database",
    "Rate-limit counts read or written in the database while Redis was away.",
)


def exposition() -> tuple[bytes, str]:
    """Render every metric in Prometheus text format, summed over workers when there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def count_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count a served request under bounded labels: a known method or "other", its route rule, its status."""
    requests.labels(method if method in KNOWN_METHODS else "other", route, status_label(status)).inc()
    request_seconds.labels(route).observe(seconds)


def status_label(status: int) -> str:
    """A status code as a label: the code when it is a known one, else its class (`5xx`)."""
    return str(status) if status in KNOWN_STATUSES else f"{status // 100}xx"


def count_answer(
    status: str, latency_ms: int | None, prompt_tokens: int | None, completion_tokens: int | None
) -> None:
    """Count a finished answer: its status, duration and tokens."""
    answers.labels(status).inc()
    if latency_ms is not None:
        answer_seconds.observe(latency_ms / 1000)
    tokens.labels("in").inc(prompt_tokens or 0)
    tokens.labels("out").inc(completion_tokens or 0)
