"""A link's audience in Chromium: teammates sign in first and come back; anyone opens it signed out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT, AppServer
from tests.browser.test_look import axe_violations
from tests.browser.test_people import PASSWORD, make_account
from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """Accounts anyone may open, and links for anyone allowed."""
    server = AppServer(tmp_path, model.url, SIGN_IN="accounts", SIGN_UP="open", PUBLIC_SHARES="true")
    yield server
    server.stop()


def link_for(page, audience: str) -> str:
    page.get_by_label(audience).check()
    page.get_by_role("button", name="Make a link").click()
    return page.locator(".share-address").first.input_value()


def test_a_link_for_teammates_asks_to_sign_in_and_one_for_anyone_opens(browser, page, server, model):
    model.configure(answer="The roadmap has **three** parts.")
    make_account(page, server.url + "/signup", "ada")
    page.get_by_label("Your question").fill("What is on the roadmap?")
    page.get_by_label("Your question").press("Enter")
    expect(page.locator("article.answer strong")).to_have_text("three")
    page.locator(".conversation.current summary").click()
    page.get_by_role("link", name="Share or download…").click()
    expect(page.get_by_role("group", name="Who can open it")).to_be_visible()
    for_teammates = link_for(page, "People who have the link and are signed in to this app")
    for_anyone = link_for(page, "Anyone who has the link, signed in or not")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "share-audience.png", full_page=True)
    assert axe_violations(page) == []

    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(for_anyone)
        expect(other.locator(".bubble")).to_have_text(["What is on the roadmap?"])
        assert axe_violations(other) == []
        expect(other.locator(".shared-note")).to_contain_text(
            "with anyone who has the link, signed in or not."
        )
        # A teammate not signed in yet: the link leads to the sign-in page, and back to the chat.
        make_account(other, server.url + "/signup", "bob")
        other.get_by_role("button", name="Sign out").click()
        other.goto(for_teammates)
        expect(other.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(other.get_by_text("What is on the roadmap?")).to_have_count(0)
        other.get_by_label("Name").fill("bob")
        other.get_by_label("Password").fill(PASSWORD)
        other.get_by_role("button", name="Sign in").click()
        expect(other).to_have_url(for_teammates)
        expect(other.locator(".bubble")).to_have_text(["What is on the roadmap?"])
        expect(other.locator(".shared-note")).to_contain_text(
            "with people who have the link and are signed in"
        )
    finally:
        stranger.close()
