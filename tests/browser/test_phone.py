"""A phone (390 px) and a desktop in Chromium: the Menu, /usage and admin pages that fit, /list's answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT, AppServer
from tests.browser.test_people import make_account
from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """The app with accounts, so that the top bar holds every link: the account, People, Sign out."""
    server = AppServer(tmp_path, model.url, SIGN_IN="accounts", SIGN_UP="open")
    yield server
    server.stop()


def ask(page, question: str) -> None:
    page.get_by_label("Your question").fill(question)
    page.get_by_label("Your question").press("Enter")
    expect(page.locator("article.answer .answer-meta").last).to_contain_text("fake-model")


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"] and box["y"] >= 0


def test_on_a_phone_the_top_bars_links_wait_behind_menu(page, server):
    make_account(page, f"{server.url}/signup", "ada")
    page.set_viewport_size(PHONE)
    ask(page, "A question from a phone")
    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    assert in_view(page, menu)
    expect(nav.get_by_role("link", name="Settings")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "phone-top-bar.png")

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for name in ("History", "Usage", "People", "ada", "Settings"):
        link = nav.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        assert in_view(page, link), name
    sign_out = nav.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_visible()
    assert in_view(page, sign_out)
    page.screenshot(path=OUTPUT / "phone-top-bar-menu.png")
    page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="Settings")).to_be_hidden()
    expect(menu).to_be_focused()

    menu.click()
    nav.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()


def test_usage_fits_a_phone_with_readable_chart_labels(page, server):
    make_account(page, f"{server.url}/signup", "ada")
    page.set_viewport_size(PHONE)
    ask(page, "Something to count")
    page.goto(f"{server.url}/usage")
    expect(page.get_by_role("heading", name="Everyone's usage")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Each chart label as drawn on the screen, in pixels.
    heights = page.evaluate(
        "[...document.querySelectorAll('.chart-label')].map(t => t.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 11, heights
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "usage-390.png")
    page.screenshot(path=OUTPUT / "usage-390-whole.png", full_page=True)


def test_the_history_answer_column_is_wide_enough_to_read_on_a_desktop(page, server, model):
    make_account(page, f"{server.url}/signup", "ada")
    model.configure(answer="A longer answer, so that its preview has something to show in the column. " * 3)
    ask(page, "What does the history show?")
    page.goto(f"{server.url}/list")
    header = page.get_by_role("columnheader", name="Answer").bounding_box()
    assert header["width"] >= 320, header
    row = page.locator("#history-rows > tr").first.bounding_box()
    assert row["height"] < 200, row
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "history-1280.png")


def test_the_admin_pages_fit_a_phone(page, tmp_path: Path, model: FakeLLM):
    """Settings, groups, people and webhook events on a phone: wide tables scroll in their own box."""
    server = AppServer(
        tmp_path,
        model.url,
        SIGN_IN="accounts",
        SIGN_UP="open",
        WEBHOOK_URLS="http://127.0.0.1:9/a-long-path-of-the-receiver-that-takes-room",
        WEBHOOK_SECRET="whsec_" + "a" * 43 + "=",
        WEBHOOK_ALLOW_PRIVATE="true",
    )
    try:
        make_account(page, f"{server.url}/signup", "ada")
        page.set_viewport_size(PHONE)
        for path, heading in (
            ("/admin/settings", "Settings"),
            ("/admin/groups", "Groups"),
            ("/admin/users", "People"),
            ("/admin/events", "Webhook events"),
        ):
            page.goto(server.url + path)
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        # The account's making was an admin action: its event waits in a table as wide as any.
        expect(page.locator(".events-table")).to_be_visible()
    finally:
        server.stop()
