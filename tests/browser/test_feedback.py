"""Feedback in Chromium: a thumbs down with a comment, found by the admin's /list filtered by feedback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import AppServer
from tests.browser.test_people import ask, invitation, make_account, new_page
from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """The app with accounts, new ones by invitation."""
    server = AppServer(tmp_path, model.url, SIGN_IN="accounts", SIGN_UP="invite")
    yield server
    server.stop()


def give_thumbs_down(page: Page, comment: str) -> None:
    """On the last answer: open Comment, type it, press the thumbs down (the control swaps itself)."""
    control = page.locator(".feedback").last
    control.get_by_text("Comment", exact=True).click()
    control.get_by_label("What was good or bad about this answer").fill(comment)
    control.get_by_role("button", name="Bad answer").click()
    control = page.locator(".feedback").last
    expect(control.get_by_role("button", name="Bad answer")).to_have_attribute("aria-pressed", "true")
    expect(control.locator(".feedback-comment")).to_have_text(comment)


def test_a_thumbs_down_with_a_comment_shows_in_the_admins_filtered_list(page, browser, server, problems):
    admin = page
    admin.goto(f"{server.url}/signup")
    make_account(admin, admin.url, "ada")
    ask(admin, "Ada asks about lighthouses")
    bob = new_page(browser, problems)
    make_account(bob, invitation(admin, server), "bob")
    ask(bob, "Bob asks about badgers")
    give_thumbs_down(bob, "It never said <where> badgers live")
    # Reloaded, the answer still shows it.
    bob.reload()
    expect(bob.locator(".feedback").last.get_by_role("button", name="Bad answer")).to_have_attribute(
        "aria-pressed", "true"
    )

    # The admin picks the filter without JavaScript: a GET form, so the address keeps it.
    context = browser.new_context(java_script_enabled=False, storage_state=admin.context.storage_state())
    plain = context.new_page()
    plain.goto(f"{server.url}/list")
    plain.get_by_label("Feedback").select_option("down")
    plain.get_by_role("button", name="Search").click()
    expect(plain).to_have_url(re.compile(r"/list\?.*feedback=down"))
    rows = plain.locator("#history-rows tr[id^='exchange-row-']")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bob asks about badgers")
    expect(rows.first.locator(".history-feedback")).to_contain_text("It never said <where> badgers live")
    context.close()

    # With JavaScript, the select alone narrows the results in place.
    admin.goto(f"{server.url}/list")
    expect(admin.locator("#history-rows tr[id^='exchange-row-']")).to_have_count(2)
    admin.get_by_label("Feedback").select_option("down")
    expect(admin).to_have_url(re.compile(r"/list\?.*feedback=down"))
    expect(admin.locator("#history-rows tr[id^='exchange-row-']")).to_have_count(1)
    expect(admin.locator(".history-feedback")).to_contain_text("It never said <where> badgers live")
    admin.get_by_label("Feedback").select_option("none")
    expect(admin.locator("#history-rows")).to_contain_text("lighthouses")
    expect(admin.locator("#history-rows tr[id^='exchange-row-']")).to_have_count(1)
