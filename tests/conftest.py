"""Fixtures shared by every suite: the fake model, the app, a client, the database."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from quart import Quart
from quart.testing import QuartClient

from app import create_app
from app.config import Config
from app.storage import Database
from tests import figures
from tests.fake_llm import FakeLLM
from tests.mysql_server import NoServer, ScratchDatabase

pytest_plugins = ["tests.outage", "tests.api_server"]

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the security suites' figures at the end of the run, whatever the capture mode."""
    found = figures.lines()
    if found:
        terminalreporter.section("security figures")
        for line in found:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run browser tests last: while sync Playwright runs, no other test may start an event loop."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLM]:
    """A fake OpenAI-compatible server on 127.0.0.1, shared by the whole run."""
    server = FakeLLM().start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
def model(fake_llm: FakeLLM) -> FakeLLM:
    """The fake model, reset to its default behaviour for this test."""
    fake_llm.reset()
    return fake_llm


@pytest.fixture(scope="session")
def mysql() -> Iterator[ScratchDatabase]:
    """A MariaDB/MySQL database for the whole run, migrated by the first app that opens it."""
    try:
        database = ScratchDatabase.provide()
    except NoServer as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs MySQL: {error}", pytrace=False)
        pytest.skip(str(error))
    yield database
    database.remove()


@pytest.fixture(params=["sqlite", "mysql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where this test's empty database lives: a fresh SQLite file, or the run's MySQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'answers.db'}"
    mysql: ScratchDatabase = request.getfixturevalue("mysql")
    mysql.empty()
    return mysql.url


@pytest.fixture
def config(tmp_path: Path, model: FakeLLM, database_url: str, request: pytest.FixtureRequest) -> Config:
    """Settings pointing the app at the fake model and a new database (changed by `@pytest.mark.settings`)."""
    marker = request.node.get_closest_marker("settings")
    settings = {
        "openai_api_key": "test-key",
        "llm_base_url": model.url,
        "llm_model": "fake-model",
        "llm_timeout": 5.0,
        "database_url": database_url,
        "secret_key": "test-secret-key-of-enough-length",
        "instance_path": tmp_path,
    }
    return Config(**settings | (marker.kwargs if marker else {}))


@pytest.fixture
async def app(config: Config) -> AsyncIterator[Quart]:
    """The app, started (database open and migrated, model client made)."""
    app = create_app(config)
    async with app.test_app():
        yield app


@pytest.fixture
def client(app: Quart) -> QuartClient:
    """A test client with its own cookie jar (one browser)."""
    return app.test_client()


@pytest.fixture
def db(app: Quart) -> Database:
    """The app's database."""
    return app.extensions["db"]


class Visitor:
    """One browser using the app: it keeps its session and CSRF token."""

    def __init__(self, client: QuartClient) -> None:
        self.client = client
        self.csrf = ""

    async def open(self, path: str = "/") -> str:
        """Load a page and remember its CSRF token."""
        response = await self.client.get(path)
        page = await response.get_data(as_text=True)
        if match := CSRF.search(page):
            self.csrf = match.group(1)
        return page

    async def ask(self, question: str, conversation_id: int | str = "", htmx: bool = True):
        """Post a question as the composer would."""
        headers = {"HX-Request": "true"} if htmx else {}
        return await self.client.post(
            "/ask",
            form={"question": question, "conversation_id": str(conversation_id), "csrf_token": self.csrf},
            headers=headers,
        )

    async def stream(self, exchange_id: int) -> list[tuple[str, str]]:
        """Read an answer's whole event stream as (event, data) pairs."""
        response = await self.client.get(f"/answers/{exchange_id}/stream")
        return parse_events(await response.get_data(as_text=True))


def parse_events(text: str) -> list[tuple[str, str]]:
    """Split a server-sent event stream into (event, data) pairs."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        events.append((name, "\n".join(data)))
    return events


@pytest.fixture
async def visitor(client: QuartClient) -> Visitor:
    """A browser that has opened the chat page."""
    visitor = Visitor(client)
    await visitor.open()
    return visitor
