"""Deleting a chat in Chromium: /usage and the day's quota stay as they were."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import test_quota
from tests.browser.conftest import OUTPUT
from tests.browser.test_people import make_account

pytestmark = pytest.mark.browser

# The app with accounts and fewer tokens per day (40) than one answer spends.
server = test_quota.server


def totals(page: Page, url: str) -> dict[str, str]:
    """The usage page's figures, as a person reads them."""
    page.goto(f"{url}/usage")
    figures = page.locator(".usage-totals > div")
    return {
        figures.nth(number).locator("dt").text_content(): figures.nth(number).locator("dd").text_content()
        for number in range(figures.count())
    }


def test_deleting_a_chat_leaves_usage_and_the_quota_as_they_were(page, server, problems):
    problems.allow("429")
    page.goto(f"{server.url}/signup")
    make_account(page, page.url, "ada")
    composer = page.get_by_label("Your question")
    composer.fill("A question I will delete")
    composer.press("Enter")
    expect(page.locator("article.answer .answer-meta")).to_contain_text("fake-model")
    spent = totals(page, server.url)
    assert spent["Questions"] == "1" and int(spent["Tokens"].replace(",", "")) > 40
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "usage-before-delete.png", full_page=True)

    page.goto(server.url)
    chat = page.locator("#conversation-list .conversation").first
    chat.get_by_label(re.compile("Rename or delete")).click()
    page.once("dialog", lambda dialog: dialog.accept())
    chat.get_by_role("button", name="Delete chat").click()
    expect(page.locator("#conversation-list .conversation")).to_have_count(0)

    composer = page.get_by_label("Your question")
    composer.fill("Asked again once the chat is gone")
    composer.press("Enter")
    expect(page.get_by_text("You have used today's 40 tokens").first).to_be_attached()
    expect(composer).to_have_value("Asked again once the chat is gone")
    expect(page.locator("article.answer")).to_have_count(0)

    assert totals(page, server.url) == spent
    page.screenshot(path=OUTPUT / "usage-after-delete.png", full_page=True)
    # Ada is the admin: her history keeps the chat for the operator, marked.
    page.goto(f"{server.url}/list")
    row = page.locator("tr", has_text="A question I will delete")
    expect(row.locator(".pill-deleted")).to_contain_text("deleted by its owner")
    expect(row.get_by_role("button", name="Delete")).to_have_count(0)
    page.screenshot(path=OUTPUT / "history-deleted-by-owner.png")
