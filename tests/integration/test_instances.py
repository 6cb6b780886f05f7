"""Two app processes over one database: any process serves any request of any visitor.

The processes share the database named by conftest's `database_url` fixture (SQLite file
here; once that fixture also yields MariaDB, every test below runs over MariaDB as well)
and a SECRET_KEY, as instances behind a load balancer would; each keeps its own instance folder.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest

from app.config import Config
from tests.conftest import CSRF, parse_events
from tests.fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parents[2]
EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
QUESTION_CELL = re.compile(r'<td class="question">(.*?)</td>')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Instance:
    """`python -m app` in a process of its own, on a port of its own."""

    def __init__(self, name: str, env: dict[str, str], tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"{name}.log"
        env = {**env, "PORT": str(self.port), "INSTANCE_PATH": str(tmp_path / name)}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )

    def wait_until_up(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"instance exited:\n{self.log.read_text()}")
            try:
                if httpx2.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx2.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"instance not up in {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_instances(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Instance, Instance]]:
    # One after the other: the first one migrates the shared database.
    first = Instance("a", env, tmp_path)
    first.wait_until_up()
    second = Instance("b", env, tmp_path)
    try:
        second.wait_until_up()
        yield first, second
    finally:
        second.stop()
        first.stop()


def instance_env(database_url: str, model: FakeLLM, **extra: str) -> dict[str, str]:
    """The environment every instance gets; the same everywhere, as in a real deployment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DB_", "OPENAI", "LLM_"))}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="shared-secret-key-of-both-instances",
        OPENAI_API_KEY="test-key",
        LLM_BASE_URL=model.url,
        LLM_MODEL="fake-model",
        HOST="127.0.0.1",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


@pytest.fixture
def instances(database_url: str, model: FakeLLM, tmp_path: Path) -> Iterator[tuple[Instance, Instance]]:
    """Two running instances over one database."""
    yield from start_instances(instance_env(database_url, model), tmp_path)


@pytest.fixture
async def browser() -> AsyncIterator[httpx2.AsyncClient]:
    """One browser: a single cookie jar, whichever instance answers (cookies ignore the port)."""
    async with httpx2.AsyncClient(timeout=15) as client:
        yield client


async def ask(browser: httpx2.AsyncClient, instance: Instance, question: str) -> int:
    page = await browser.get(f"{instance.url}/")
    token = CSRF.search(page.text).group(1)
    response = await browser.post(
        f"{instance.url}/ask",
        data={"question": question, "conversation_id": "", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    return int(EXCHANGE_ID.search(response.text).group(1))


async def stream(browser: httpx2.AsyncClient, instance: Instance, exchange_id: int) -> list[tuple[str, str]]:
    response = await browser.get(f"{instance.url}/answers/{exchange_id}/stream")
    return parse_events(response.text)


async def test_question_posted_to_one_is_streamed_from_the_other(instances, browser, model):
    a, b = instances
    model.configure(answer="Streamed by **the other** process.")
    exchange_id = await ask(browser, a, "Which process answers?")
    events = await stream(browser, b, exchange_id)
    assert [name for name, _ in events][-2:] == ["final", "done"]
    assert "".join(data for name, data in events if name == "delta") == "Streamed by **the other** process."
    assert "<strong>the other</strong>" in dict(events)["final"]
    for instance in (a, b):
        page = (await browser.get(f"{instance.url}/c/1")).text
        assert "Which process answers?" in page and "<strong>the other</strong>" in page


async def test_conversations_and_history_are_the_same_from_both(instances, browser, model):
    a, b = instances
    for number, instance in enumerate((a, b, a), 1):
        await stream(browser, instance, await ask(browser, instance, f"question {number}"))
    histories = [(await browser.get(f"{instance.url}/list")).text for instance in (a, b)]
    assert QUESTION_CELL.findall(histories[0]) == ["question 3", "question 2", "question 1"]
    assert QUESTION_CELL.findall(histories[1]) == QUESTION_CELL.findall(histories[0])
    for number in (1, 2, 3):
        pages = [(await browser.get(f"{instance.url}/c/{number}")).text for instance in (a, b)]
        assert f"question {number}" in pages[0] and f"question {number}" in pages[1]


async def test_a_stream_opened_on_both_calls_the_model_once(instances, browser, model):
    a, b = instances
    model.configure(answer="one two three four five six", delay=0.1)
    exchange_id = await ask(browser, a, "Who claims it?")
    first, second = await asyncio.gather(stream(browser, a, exchange_id), stream(browser, b, exchange_id))
    assert len(model.requests) == 1
    for events in (first, second):
        assert [name for name, _ in events][-2:] == ["final", "done"]
        assert "one two three four five six" in dict(events)["final"]


async def test_rate_limits_are_shared_through_redis(database_url, model, browser, tmp_path):
    if "redis_url" not in {field.name for field in dataclasses.fields(Config)}:
        pytest.skip("the app has no rate limits (REDIS_URL) yet; they come with the security work")
    # Limits are per client and all requests come from 127.0.0.1: once one instance
    # refuses, the other must refuse too, whatever the limit is.
    env = instance_env(database_url, model, REDIS_URL="redis://127.0.0.1:6379/13")
    for a, b in start_instances(env, tmp_path):
        token = CSRF.search((await browser.get(f"{a.url}/")).text).group(1)
        statuses: list[int] = []
        for attempt in range(400):
            target = (a, b)[attempt % 2]
            response = await browser.post(f"{target.url}/ask", data={"question": "", "csrf_token": token})
            statuses.append(response.status_code)
            if response.status_code == 429:
                other = (b, a)[attempt % 2]
                again = await browser.post(f"{other.url}/ask", data={"question": "", "csrf_token": token})
                assert again.status_code == 429, "the other instance kept its own count"
                return
        pytest.fail(f"no request was limited in {len(statuses)} tries: {sorted(set(statuses))}")
