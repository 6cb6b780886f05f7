"""Two app processes over one database: any process serves any request of any visitor.

The processes share the database named by conftest's `database_url` fixture (SQLite file
here; once that fixture also yields MariaDB, every test below runs over MariaDB as well)
and a SECRET_KEY, as instances behind a load balancer would; each keeps its own instance folder.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest

from app.config import Config
from tests.browser.conftest import AppServer
from tests.conftest import CSRF, parse_events
from tests.fake_llm import FakeLLM

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
QUESTION_CELL = re.compile(r'<td class="question">(.*?)</td>')


@contextmanager
def start_instances(
    env: dict[str, str], tmp_path: Path, model: FakeLLM
) -> Iterator[tuple[AppServer, AppServer]]:
    """Start two instances, one after the other (the first migrates the shared database)."""
    started: list[AppServer] = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            started.append(AppServer(tmp_path / name, model.url, **env))
        yield started[0], started[1]
    finally:
        for server in reversed(started):
            server.stop()


def instance_env(database_url: str, **extra: str) -> dict[str, str]:
    """What differs from a lone server: one database and one SECRET_KEY for both, as in a deployment."""
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "shared-secret-key-of-both-instances",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture
def instances(database_url: str, model: FakeLLM, tmp_path: Path) -> Iterator[tuple[AppServer, AppServer]]:
    """Two running instances over one database."""
    with start_instances(instance_env(database_url), tmp_path, model) as pair:
        yield pair


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    """One browser's HTTP client: one cookie jar, whichever instance answers (cookies ignore the port)."""
    async with httpx2.AsyncClient(timeout=15) as client:
        yield client


async def ask(http: httpx2.AsyncClient, instance: AppServer, question: str) -> int:
    page = await http.get(f"{instance.url}/")
    token = CSRF.search(page.text).group(1)
    response = await http.post(
        f"{instance.url}/ask",
        data={"question": question, "conversation_id": "", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    return int(EXCHANGE_ID.search(response.text).group(1))


async def stream(http: httpx2.AsyncClient, instance: AppServer, exchange_id: int) -> list[tuple[str, str]]:
    response = await http.get(f"{instance.url}/answers/{exchange_id}/stream")
    return parse_events(response.text)


async def test_question_posted_to_one_is_streamed_from_the_other(instances, http, model):
    a, b = instances
    model.configure(answer="Streamed by **the other** process.")
    exchange_id = await ask(http, a, "Which process answers?")
    events = await stream(http, b, exchange_id)
    assert [name for name, _ in events][-2:] == ["final", "done"]
    assert "".join(data for name, data in events if name == "delta") == "Streamed by **the other** process."
    assert "<strong>the other</strong>" in dict(events)["final"]
    for instance in (a, b):
        page = (await http.get(f"{instance.url}/c/1")).text
        assert "Which process answers?" in page and "<strong>the other</strong>" in page


async def test_conversations_and_history_are_the_same_from_both(instances, http, model):
    a, b = instances
    for number, instance in enumerate((a, b, a), 1):
        await stream(http, instance, await ask(http, instance, f"question {number}"))
    histories = [(await http.get(f"{instance.url}/list")).text for instance in (a, b)]
    assert QUESTION_CELL.findall(histories[0]) == ["question 3", "question 2", "question 1"]
    assert QUESTION_CELL.findall(histories[1]) == QUESTION_CELL.findall(histories[0])
    for number in (1, 2, 3):
        pages = [(await http.get(f"{instance.url}/c/{number}")).text for instance in (a, b)]
        assert f"question {number}" in pages[0] and f"question {number}" in pages[1]


async def test_a_stream_opened_on_both_calls_the_model_once(instances, http, model):
    a, b = instances
    model.configure(answer="one two three four five six", delay=0.1)
    exchange_id = await ask(http, a, "Who claims it?")
    first, second = await asyncio.gather(stream(http, a, exchange_id), stream(http, b, exchange_id))
    assert len(model.requests) == 1
    for events in (first, second):
        assert [name for name, _ in events][-2:] == ["final", "done"]
        assert "one two three four five six" in dict(events)["final"]


async def test_rate_limits_are_shared_through_redis(database_url, model, http, tmp_path):
    if "redis_url" not in {field.name for field in dataclasses.fields(Config)}:
        pytest.skip("the app has no rate limits (REDIS_URL) yet; they come with the security work")
    # Limits count per client, and every request here comes from 127.0.0.1. Once the
    # first instance refuses, the second must refuse too although it was never asked:
    # with a count of its own it would still accept.
    env = instance_env(database_url, REDIS_URL="redis://127.0.0.1:6379/13", ASK_RATE_LIMIT="3/minute")
    with start_instances(env, tmp_path, model) as (a, b):
        token = CSRF.search((await http.get(f"{a.url}/")).text).group(1)
        statuses = []
        for _ in range(10):
            response = await http.post(f"{a.url}/ask", data={"question": "", "csrf_token": token})
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        assert statuses[-1] == 429, f"the first instance never limited: {statuses}"
        response = await http.post(f"{b.url}/ask", data={"question": "", "csrf_token": token})
        assert response.status_code == 429, "the second instance kept a count of its own"
