"""What operators see: /metrics moving with a chat, request ids, JSON log lines without questions."""

from __future__ import annotations

import json
import logging

from prometheus_client.parser import text_string_to_metric_families

from app.logs import JsonFormatter
from tests.test_asking import ask_and_stream

STREAM_ROUTE = "/answers/<int:exchange_id>/stream"


async def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Read /metrics as the Prometheus server would: every sample by name and labels."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = await response.get_data(as_text=True)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def moved(before, after, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0) - before.get(key, 0)


async def test_metrics_count_a_chat(visitor, client, model):
    model.configure(answer="one two three four")
    before = await scrape(client)
    await ask_and_stream(visitor, "What moves?")
    after = await scrape(client)
    assert moved(before, after, "answers_answers_total", status="done") == 1
    assert moved(before, after, "answers_tokens_total", direction="out") == 4
    assert moved(before, after, "answers_tokens_total", direction="in") > 0
    assert moved(before, after, "answers_time_to_first_token_seconds_count") == 1
    assert moved(before, after, "answers_answer_duration_seconds_count") == 1
    assert moved(before, after, "answers_http_requests_total", method="POST", route="/ask", status="200") == 1
    assert (
        moved(before, after, "answers_http_requests_total", method="GET", route=STREAM_ROUTE, status="200")
        == 1
    )
    assert moved(before, after, "answers_http_request_duration_seconds_count", route="/ask") == 1


async def test_metrics_count_failed_answers_by_status(visitor, client, model):
    model.configure(status=500)
    before = await scrape(client)
    await ask_and_stream(visitor, "Will it fail?")
    after = await scrape(client)
    assert moved(before, after, "answers_answers_total", status="error") == 1
    assert moved(before, after, "answers_answers_total", status="done") == 0
    assert moved(before, after, "answers_time_to_first_token_seconds_count") == 0


async def test_an_unreachable_database_is_counted_and_not_ready(client, db):
    before = await scrape(client)
    await db.close()
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert (await response.get_json())["database"] == "down"
    after = await scrape(client)
    assert moved(before, after, "answers_database_errors_total") == 1


async def test_unknown_addresses_are_counted_under_one_label(client):
    before = await scrape(client)
    await client.get("/no/such/page/123")
    after = await scrape(client)
    assert (
        moved(before, after, "answers_http_requests_total", method="GET", route="<unmatched>", status="404")
        == 1
    )


async def test_request_id_is_echoed_or_made(client, caplog):
    caplog.set_level(logging.INFO, logger="app.requests")
    given = await client.get("/healthz", headers={"X-Request-ID": "lb-42.abc"})
    made = await client.get("/healthz", headers={"X-Request-ID": "not valid\x7f"})
    assert given.headers["X-Request-ID"] == "lb-42.abc"
    assert len(made.headers["X-Request-ID"]) == 32 and made.headers["X-Request-ID"] != "lb-42.abc"
    lines = [
        json.loads(JsonFormatter().format(record)) for record in caplog.records if record.message == "request"
    ]
    assert [line["request_id"] for line in lines] == ["lb-42.abc", made.headers["X-Request-ID"]]
    assert lines[0]["route"] == "/healthz" and lines[0]["status"] == 200 and lines[0]["duration_ms"] >= 0


async def test_one_json_line_per_answer_without_the_question(visitor, model, caplog):
    caplog.set_level(logging.INFO)
    model.configure(answer="a b c")
    exchange_id, _ = await ask_and_stream(visitor, "my secret medical question")
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert not any("secret medical" in line for line in lines)
    [answer] = [json.loads(line) for line in lines if json.loads(line)["message"] == "answer"]
    assert (
        answer["exchange_id"] == exchange_id
        and answer["status"] == "done"
        and answer["model"] == "fake-model"
    )
    assert answer["completion_tokens"] == 3 and answer["latency_ms"] >= 0
    assert answer["request_id"]
    requests = [json.loads(line) for line in lines if json.loads(line)["message"] == "request"]
    assert {line["route"] for line in requests} >= {"/ask", STREAM_ROUTE}
    assert not any("test-key" in line or "test-secret-key" in line for line in lines)


async def test_probes_and_scrapers_get_no_session_cookie(client):
    for path in ("/healthz", "/readyz", "/metrics"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path
