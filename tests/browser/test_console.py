"""Chromium's console stays clean across the main pages and every control: no error, no CSP violation.

The `page` fixture fails the test on any console error or warning and any CSP violation;
this walk gives it every page and control to see. htmx is set to inject no style of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AppServer
from tests.browser.test_people import make_account
from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.browser

ANSWER = "A *short* answer.\n\n```python\nprint('hi')\n```\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n"
# Style that htmx (or anything else) put into the page: a <style> element, or a style attribute
# on anything but the composer's box (app.js sizes it through the CSSOM, which the CSP allows).
INJECTED_STYLE = """() => [
  ...document.querySelectorAll('style'),
  ...[...document.querySelectorAll('[style]')].filter(e => e.id !== 'question'),
].map(e => e.outerHTML.slice(0, 80))"""


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """The app with accounts and retention on, so that every page and control exists."""
    server = AppServer(tmp_path, model.url, SIGN_IN="accounts", SIGN_UP="open", RETENTION_DAYS="30")
    yield server
    server.stop()


def ask(page, text: str) -> None:
    answered = page.locator("article.answer .answer-meta").count()
    field = page.get_by_label("Your question")
    field.fill(text)
    field.press("Enter")
    expect(page.locator("article.answer .answer-meta")).to_have_count(answered + 1)


def clean(page) -> None:
    assert page.evaluate("window.__cspViolations") == []
    assert page.evaluate(INJECTED_STYLE) == []
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False


def test_the_console_stays_clean_on_every_page_and_control(page, server, model, problems):
    model.configure(answer=ANSWER)
    make_account(page, f"{server.url}/signup", "ada")
    ask(page, "first question")
    ask(page, "second question")
    clean(page)

    # Versions: Regenerate, then ‹ and › between them.
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator(".version-count")).to_have_text("2/2")
    for name, count in (("Previous version", "1/2"), ("Next version", "2/2")) * 2:
        page.get_by_role("link", name=name).click()
        expect(page.locator(".version-count")).to_have_text(count)
        clean(page)
    # The browser's Back and Forward through them: the whole page each time, composer included.
    page.go_back()
    expect(page.locator(".version-count")).to_have_text("1/2")
    page.go_forward()
    expect(page.locator(".version-count")).to_have_text("2/2")
    expect(page.get_by_label("Your question")).to_be_visible()
    page.get_by_role("link", name="Previous version").click()
    expect(page.locator(".version-count")).to_have_text("1/2")
    page.get_by_role("link", name="Next version").click()
    expect(page.locator(".version-count")).to_have_text("2/2")
    clean(page)

    # Edit, Stop (from the composer), Retry, Copy, the refused follow-up.
    page.locator(".exchange").last.get_by_text("Edit", exact=True).click()
    expect(page.get_by_label("Change the question").last).to_be_focused()
    page.get_by_label("Change the question").last.fill("second question, edited")
    page.get_by_label("Change the question").last.press("Enter")
    expect(page.locator(".version-count")).to_have_text("3/3")
    model.configure(tokens=300, delay=0.03)
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator("article.answer.live")).to_contain_text("w3")
    page.locator("#composer").get_by_role("button", name="Stop the answer").click()
    expect(page.locator("article.answer .answer-note")).to_have_text("Stopped.")
    model.configure(answer=ANSWER, tokens=None, delay=0)
    page.locator("pre.code .copy").first.click()
    clean(page)

    # The sidebar's menu: rename, keep forever, share, instructions.
    item = page.locator(".conversation").first
    item.get_by_label(re.compile("Rename or delete")).click()
    item.get_by_label("Title").fill("Renamed")
    item.get_by_label("Title").press("Enter")
    expect(page.locator(".conversation").first.locator("> a")).to_contain_text("Renamed")
    page.locator(".conversation").first.get_by_label(re.compile("Rename or delete")).click()
    page.locator(".conversation").first.get_by_role("button", name="Keep forever").click()
    expect(page.locator(".conversation").first.get_by_text("Kept", exact=True)).to_be_visible()
    clean(page)
    chat = page.url.partition("?")[0]

    # The other pages, each with what it lets one do.
    page.goto(f"{chat}/share")
    page.get_by_role("button", name="Make a link").click()
    clean(page)
    page.goto(f"{chat}/instructions")
    clean(page)
    page.goto(f"{server.url}/list")
    page.get_by_label("Search").fill("first")
    expect(page.locator("#history-rows > tr")).to_have_count(1)
    page.locator("#history-rows summary").first.click()
    clean(page)
    for path in ("/conversations", "/usage", "/settings", "/account", "/admin/users", "/admin/audit"):
        page.goto(server.url + path)
        clean(page)

    # A phone: the drawer of chats and the Menu.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(chat)
    page.get_by_role("button", name="Chats").click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Menu").click()
    page.keyboard.press("Escape")
    clean(page)
