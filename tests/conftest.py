"""Fixtures shared by every suite: the fake model, the app, a client, the database.

Under pytest-xdist each worker has its own of everything a session holds: the fake
model on a free port, the migrated SQLite template, the MySQL database (named after the
worker), Chromium. The Galera suite and the tests that share the machine's Redis run in
one worker each (`tests/scheduling.py`, with `--dist loadgroup`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from openai._vendor.httpx_aiohttp import transport as httpx_aiohttp
from quart import Quart
from quart.testing import QuartClient
from quart.testing.app import TestApp
from werkzeug.routing import Rule

from app import create_app
from app.config import Config
from app.people import passwords
from app.rendering import highlight
from app.storage import Database, migrate, open_database
from tests import figures, scheduling, warm
from tests.cluster import figures as cluster_figures
from tests.fake_llm import FakeLLM
from tests.mysql_server import NoServer, ScratchDatabase

pytest_plugins = ["tests.outage", "tests.api_server"]

# How long an app may take to start in the tests (open, migrate, make its clients). A worker's
# first app migrates an empty MySQL database: on a busy machine that can take longer than Quart's
# 6 s, and a start given up half-way would leave the schema half-made for the rest.
STARTUP_SECONDS = 120


class PatientTestApp(TestApp):
    """Quart's test app, given the time a busy machine needs to start and stop an app."""

    def __init__(
        self, app: Quart, startup_timeout: int = STARTUP_SECONDS, shutdown_timeout: int = STARTUP_SECONDS
    ) -> None:
        super().__init__(app, startup_timeout, shutdown_timeout)


Quart.test_app_class = PatientTestApp

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On a pytest-xdist worker, hand the figures to the controller, which prints them."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["figures"] = json.dumps(figures.exported())
        session.config.workeroutput["galera_figures"] = json.dumps(cluster_figures.exported())


def pytest_testnodedown(node: Any, error: object) -> None:
    """On the pytest-xdist controller, gather a finished worker's figures."""
    output = getattr(node, "workeroutput", {})
    if "figures" in output:
        figures.merge(json.loads(output["figures"]))
        cluster_figures.merge(json.loads(output["galera_figures"]))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the security and Galera suites' figures at the end of the run, whatever the capture mode."""
    for title, found in (("security figures", figures.lines()), ("galera figures", cluster_figures.lines())):
        if found:
            terminalreporter.section(title)
            for line in found:
                terminalreporter.write_line(line)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> scheduling.Grouped | None:
    """`--dist loadgroup`: the groups of `tests/scheduling.py`, each in one worker."""
    return scheduling.Grouped(config, log) if config.getvalue("dist") == "loadgroup" else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what needs MySQL or the cluster, run browser tests last.

    Browser tests last: while sync Playwright runs, no other test may start an event loop.
    `make test-quick` leaves out these marks and `exhaustive`, which the security suites put on
    themselves (`-m "not mysql and not browser and not cluster and not exhaustive"`).
    """
    for item in items:
        callspec = getattr(item, "callspec", None)
        if "mysql" in item.fixturenames or (callspec and callspec.params.get("database_url") == "mysql"):
            item.add_marker(pytest.mark.mysql)
        if scheduling.group_of(item.nodeid) == "cluster":
            item.add_marker(pytest.mark.cluster)
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session", autouse=True)
def still_clock() -> Iterator[None]:
    """Highlighting's last resort reads a clock that never moves: in tests the work alone decides."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(highlight, "CLOCK", lambda: 0.0)
        yield


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Argon2id at its cheapest in the tests' own apps: the same hashes and checks, a fraction of the work."""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", hasher)
        patch.setattr(passwords, "_STAND_IN", hasher.hash("a password nobody has"))
        yield


@pytest.fixture(scope="session", autouse=True)
def one_tls_context() -> Iterator[None]:
    """Certificate authorities loaded once a run, not for each app's model client (the fake model is HTTP)."""
    made = httpx_aiohttp.httpx.create_ssl_context
    contexts: dict[tuple[object, ...], ssl.SSLContext] = {}

    def once(verify: object = True, cert: object = None, trust_env: bool = True) -> ssl.SSLContext:
        key = (verify, cert, trust_env)
        if key not in contexts:
            contexts[key] = made(verify=verify, cert=cert, trust_env=trust_env)
        return contexts[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx_aiohttp.httpx, "create_ssl_context", once)
        yield


@pytest.fixture(scope="session", autouse=True)
def compiled_routes() -> Iterator[None]:
    """Each route's URL builder compiled once a run, not again for every app that registers it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Rule, "_compile_builder", warm.route_builders_once(Rule._compile_builder))
        yield


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
    """A MariaDB/MySQL database for the run (or this worker), migrated by the first app that opens it."""
    try:
        database = ScratchDatabase.provide(worker=os.environ.get("PYTEST_XDIST_WORKER", ""))
    except NoServer as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs MySQL: {error}", pytrace=False)
        pytest.skip(str(error))
    yield database
    database.remove()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database with every migration applied, made once per run (or worker) for tests to copy."""
    path = tmp_path_factory.mktemp("template") / "answers.db"

    async def make() -> None:
        database = open_database(f"sqlite:///{path}")
        await database.open()
        await migrate(database)
        await database.close()

    asyncio.run(make())
    return path


@pytest.fixture(params=["sqlite", "mysql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """This test's empty, migrated database: a copy of the SQLite template, or the run's MySQL one emptied."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), tmp_path / "answers.db")
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
    app.jinja_env.bytecode_cache = warm.COMPILED_TEMPLATES
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
