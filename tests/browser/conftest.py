"""A real app process served by Hypercorn, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import atexit
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, expect, sync_playwright

from app.storage import migrate, open_database
from tests.conftest import STARTUP_SECONDS
from tests.fake_llm import FakeLLM
from tests.forks import ForkedApp, Forker

# What a page is given to reach the state a test expects: generous, since a busy machine runs
# the app, Chromium and the other tests' workers at once; a page that gets there sooner passes sooner.
expect.set_options(timeout=15_000)

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
# Chromium's headless shell: the same Blink without the browser around it, half the CPU of the
# whole browser run headless. Its tabs never gain or lose focus, so a test of that uses the whole one.
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Settings read when the app is imported: an app given other values than this process has is not forked.
READ_ON_IMPORT = ("PROMETHEUS_MULTIPROC_DIR",)
# Records CSP violations the page reports, before any page script runs.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
window.__deltas = 0;
document.addEventListener("htmx:sseMessage", (e) => {
  if (e.detail && (e.detail.type === "delta" || e.detail.type === "blocks")) window.__deltas += 1;
});
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@functools.cache
def migrated_sqlite() -> Path:
    """A SQLite database with every migration applied, made once per process for the app servers to copy.

    Migrated in a thread of its own: sync Playwright may own this thread's event loop.
    """
    path = Path(tempfile.mkdtemp(prefix="answers-template-")) / "answers.db"
    atexit.register(shutil.rmtree, path.parent, True)

    async def make() -> None:
        database = open_database(f"sqlite:///{path}")
        await database.open()
        await migrate(database)
        await database.close()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, make()).result()
    return path


class AppServer:
    """`python -m app` in a process of its own (forked from one that imported the app), on a free port,
    with its own instance folder."""

    def __init__(self, instance: Path, model_url: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = instance / "server.log"
        environment = {
            **os.environ,
            "PORT": str(self.port),
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'answers.db'}",
            "LLM_BASE_URL": model_url,
            "OPENAI_API_KEY": "test-key",
            "LLM_MODEL": "fake-model",
            "LLM_TIMEOUT": "5",
            **env,
        }
        if "DATABASE_URL" not in env:
            # Migrated already, as the app would leave it: owner-only.
            shutil.copyfile(migrated_sqlite(), instance / "answers.db")
            os.chmod(instance / "answers.db", 0o600)
        self.process: subprocess.Popen[bytes] | ForkedApp
        if any(environment.get(name) != os.environ.get(name) for name in READ_ON_IMPORT):
            with self.log.open("w") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "app"],
                    cwd=ROOT,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        else:
            self.process = Forker.start(environment, ROOT, self.log)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the app did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


# One per run (per worker): browser tests run last, and sync Playwright owns the loop while alive.
@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright, driving the browsers of this worker."""
    with sync_playwright() as playwright:
        yield playwright


def launch(playwright: Playwright, executable: str, package: str) -> Browser:
    """A Chromium from Debian's package, or the test fails saying how to get it."""
    if not Path(executable).exists():
        pytest.fail(f"{executable} is missing: apt-get install {package} (make test does it)")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium's headless shell; each test gets a context of its own."""
    browser = launch(playwright, HEADLESS_SHELL, "chromium-headless-shell")
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def whole_browser(playwright: Playwright) -> Iterator[Browser]:
    """The whole Chromium, headless, for what the shell lacks: tabs that gain and lose focus."""
    browser = launch(playwright, CHROMIUM, "chromium")
    yield browser
    browser.close()


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """The app served by Hypercorn against the fake model."""
    server = AppServer(tmp_path, model.url)
    yield server
    server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Note on the test whether its body failed, for the page fixture's screenshot."""
    report = yield
    if report.when == "call":
        item.failed_call = report.failed  # type: ignore[attr-defined]
    return report


class Problems:
    """Console errors and CSP violations seen by a page; a test fails if any appear."""

    def __init__(self) -> None:
        self.console: list[str] = []
        self.expected: list[str] = []

    def allow(self, text: str) -> None:
        """Expect a console line containing this text (a refused request logs its status)."""
        self.expected.append(text)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            if not any(text in message.text for text in self.expected):
                self.console.append(f"{message.type}: {message.text}")


@pytest.fixture
def problems() -> Problems:
    """What the page logged that nobody expected."""
    return Problems()


@pytest.fixture
def page(browser: Browser, problems: Problems, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context and page that fail the test on any console error or CSP violation.

    A test that fails leaves a screenshot of the whole page in test-output/ (a full-page screenshot
    of every test cost a tenth of a second of CPU each)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.add_init_script(WATCH_CSP)
    page.on("console", problems.on_console)
    page.on("pageerror", lambda error: problems.console.append(f"pageerror: {error}"))
    yield page
    violations = page.evaluate("window.__cspViolations || []") if not page.is_closed() else []
    failed = getattr(request.node, "failed_call", False) or problems.console or violations
    if failed and not page.is_closed():
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=OUTPUT / f"{request.node.name}.png", full_page=True)
    context.close()
    assert problems.console == [], problems.console
    assert violations == [], violations
