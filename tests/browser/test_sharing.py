"""A chat shared by link opens in a fresh browser, read-only, and stops opening once revoked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser


def test_a_shared_chat_opens_in_a_fresh_browser_until_revoked(browser, page, server, model):
    model.configure(answer="Shared answers keep their **markdown**.")
    page.goto(server.url)
    question = page.get_by_label("Your question")
    question.fill("Can a stranger read this?")
    question.press("Enter")
    expect(page.locator("article.answer strong")).to_have_text("markdown")

    page.locator(".conversation summary").first.click()
    page.get_by_role("link", name="Share or download…").click()
    page.get_by_role("button", name="Make a link").click()
    address = page.locator(".share-address").first.input_value()
    manage = page.url
    assert "/s/" in address

    model.configure(answer="Not for strangers.")
    page.get_by_role("link", name="Back to the chat").click()
    page.get_by_label("Your question").fill("A later, private question?")
    page.get_by_label("Your question").press("Enter")
    expect(page.locator("article.answer").last).to_contain_text("Not for strangers.")

    stranger = browser.new_context()
    try:
        shared = stranger.new_page()
        response = shared.goto(address)
        assert response.status == 200 and response.headers["x-robots-tag"] == "noindex, nofollow"
        expect(shared.locator('meta[name="robots"]')).to_have_attribute("content", "noindex, nofollow")
        expect(shared.locator(".bubble")).to_have_text(["Can a stranger read this?"])
        expect(shared.locator(".answer strong")).to_have_text("markdown")
        expect(shared.get_by_text("Not for strangers.")).to_have_count(0)
        expect(shared.locator("form.composer, .conversation")).to_have_count(0)
        OUTPUT.mkdir(exist_ok=True)
        shared.screenshot(path=OUTPUT / "shared-chat.png", full_page=True)

        page.goto(manage)
        page.get_by_role("button", name="Stop sharing").click()
        expect(page.locator(".share-address")).to_have_count(0)
        assert shared.goto(address).status == 404
        expect(shared.locator("main")).to_contain_text("stopped sharing")
    finally:
        stranger.close()
