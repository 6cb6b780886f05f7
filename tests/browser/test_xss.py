"""XSS in Chromium: payloads as questions and as model output, on the chat, conversation and history pages."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import figures
from tests.browser.conftest import WATCH_CSP, AppServer
from tests.payloads import payloads

pytestmark = pytest.mark.browser

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
# Any payload that runs calls xssHit(n) or alert(n); both are recorded before any page script runs.
WATCH_XSS = (
    WATCH_CSP
    + """
window.__hits = [];
window.xssHit = (n) => window.__hits.push(n);
"""
)
LIVE_PAYLOADS = 40


class Watch:
    """What the pages of one browser context did that they never should."""

    def __init__(self) -> None:
        self.hits: list[int] = []
        self.dialogs: list[str] = []
        self.violations: list[str] = []
        self.errors: list[str] = []

    def attach(self, page: Page) -> None:
        page.add_init_script(WATCH_XSS)
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def collect(self, page: Page) -> None:
        self.hits += page.evaluate("window.__hits")
        self.violations += page.evaluate("window.__cspViolations")

    @property
    def executed(self) -> int:
        return len(set(self.hits)) + len(self.dialogs)


@pytest.fixture
def server(tmp_path, model) -> Iterator[AppServer]:
    """The app, with rate limits out of the way of a suite that asks a hundred questions."""
    server = AppServer(tmp_path, model.url, ASK_RATE_LIMIT="100000/minute")
    yield server
    server.stop()


def seed(context: BrowserContext, server: AppServer, model, texts: list[str]) -> int:
    """One conversation whose every exchange has a payload as question and as answer; returns its id."""
    page = context.new_page()
    page.goto(server.url)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    page.close()
    conversation = ""
    for text in texts:
        model.configure(answer=text)
        response = context.request.post(
            f"{server.url}/ask",
            form={"question": text, "conversation_id": conversation, "csrf_token": token},
            headers={"HX-Request": "true"},
        )
        assert response.ok, response.text()
        conversation = conversation or response.headers["hx-push-url"].rsplit("/", 1)[1]
        exchange = EXCHANGE_ID.search(response.text()).group(1)
        stream = context.request.get(f"{server.url}/answers/{exchange}/stream")
        assert "event: done" in stream.text()
    return int(conversation)


def visit_stored_pages(
    context: BrowserContext, server: AppServer, conversation: int, watch: Watch, count: int, history: int
) -> None:
    """Load the conversation and every history page, waiting until everything has been swapped in."""
    page = context.new_page()
    watch.attach(page)
    page.goto(f"{server.url}/c/{conversation}")
    # A long conversation opens at its newest exchanges; load the earlier ones until all are shown.
    for _ in range(count):
        earlier = page.locator(".earlier a")
        if not earlier.count():
            break
        shown = page.locator(".exchange").count()
        earlier.click()
        expect(page.locator(".exchange")).not_to_have_count(shown)
    expect(page.locator(".exchange")).to_have_count(count)
    page.wait_for_timeout(300)
    watch.collect(page)
    page.goto(f"{server.url}/list")
    # Older rows arrive as the sentinel row scrolls into view; scroll until none is left.
    for _ in range(100):
        watch.collect(page)
        if not page.locator("tr.more").count():
            break
        # Scroll the page, not the sentinel: htmx may swap the sentinel out between two calls.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_timeout(200)
    watch.collect(page)
    rows = page.locator("#history-rows tr[id^=exchange-row-]").count()
    assert rows == history
    page.close()


def ask_live(context: BrowserContext, server: AppServer, model, texts: list[str], watch: Watch) -> None:
    """Ask on the chat page: the question bubble, the streamed text and the final answer carry payloads."""
    page = context.new_page()
    watch.attach(page)
    page.goto(server.url)
    joined = "\n\n".join(texts)
    model.configure(answer=joined, delay=0.002)
    page.get_by_label("Your question").fill(joined)
    page.get_by_role("button", name="Send").click()
    answer = page.locator("article.answer").last
    expect(answer).not_to_have_class(re.compile(r"\blive\b"), timeout=30_000)
    expect(answer.locator(".answer-meta")).to_contain_text("fake-model")
    assert page.evaluate("window.__deltas") >= 2
    page.wait_for_timeout(300)
    watch.collect(page)
    page.close()


def prove_the_watch_sees(context: BrowserContext, server: AppServer) -> None:
    """A control: a handler that does run, and an alert that does open, are both caught."""
    watch = Watch()
    page = context.new_page()
    watch.attach(page)
    page.goto(f"{server.url}/healthz")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=xssHit(0)>')")
    page.evaluate("setTimeout(() => alert(0))")
    page.wait_for_timeout(300)
    watch.collect(page)
    page.close()
    assert watch.hits == [0] and watch.dialogs == ["0"], (watch.hits, watch.dialogs)


def test_no_payload_runs_anywhere_with_or_without_the_csp(browser: Browser, server, model):  # noqa: F811
    texts = payloads()
    strict = Watch()
    context = browser.new_context()
    conversation = seed(context, server, model, texts)
    visit_stored_pages(context, server, conversation, strict, len(texts), len(texts))
    ask_live(context, server, model, texts[:LIVE_PAYLOADS], strict)
    state = context.storage_state()
    context.close()

    # Without the CSP as a safety net, the escaping and the sanitiser alone must hold.
    unguarded = Watch()
    context = browser.new_context(bypass_csp=True, storage_state=state)
    prove_the_watch_sees(context, server)
    visit_stored_pages(context, server, conversation, unguarded, len(texts), len(texts) + 1)
    ask_live(context, server, model, texts[LIVE_PAYLOADS : 2 * LIVE_PAYLOADS], unguarded)
    context.close()

    executed = strict.executed + unguarded.executed
    figures.add(
        "xss",
        tried=len(texts),
        executed=executed,
        dialogs=len(strict.dialogs) + len(unguarded.dialogs),
        violations=len(strict.violations),
    )
    assert strict.hits == [] and unguarded.hits == [], (strict.hits, unguarded.hits)
    assert strict.dialogs == [] and unguarded.dialogs == []
    assert strict.violations == [], strict.violations
    assert strict.errors == [] and unguarded.errors == [], (strict.errors, unguarded.errors)
