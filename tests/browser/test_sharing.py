"""A chat shared by link opens in a fresh browser, read-only, and stops opening once revoked."""

from __future__ import annotations

import re

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
    page.wait_for_load_state()  # Enter sends only once app.js has run
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


TABLE = "| Step | Duration |\n| --- | --- |\n" + "".join(f"| step {n} | {n} min |\n" for n in range(300))


def settle(page) -> None:
    expect(page.locator("article.answer.live")).to_have_count(0)


def send(page, text: str) -> None:
    field = page.get_by_label("Your question")
    field.fill(text)
    field.press("Enter")
    expect(page.locator(".bubble").last).to_have_text(text)


def test_a_share_and_a_download_hold_exactly_the_branch_on_screen(browser, page, server, model, tmp_path):
    page.goto(server.url)
    model.configure(answer="A1 the first answer.")
    send(page, "Q1 the first question")
    settle(page)
    # A table stopped halfway, then regenerated twice.
    model.configure(answer=TABLE, delay=0.02)
    send(page, "Q2 a table please")
    expect(page.locator("article.answer").nth(1)).to_contain_text("step 3")
    page.locator("#composer").get_by_role("button", name="Stop the answer").click()
    expect(page.locator("article.answer").nth(1).locator(".answer-note")).to_have_text("Stopped.")
    for take in ("A2 the second take.", "A2 the third take."):
        model.configure(answer=take, delay=0.0)
        page.get_by_role("button", name="Regenerate").click()
        expect(page.locator("article.answer").nth(1)).to_contain_text(take)
        settle(page)
    # The first question edited: its own branch, alone on screen.
    model.configure(answer="A1 edited answer.")
    first = page.locator(".exchange").first
    first.get_by_text("Edit", exact=True).click()
    # Opening Edit puts the caret at the end of the box: filling before it lands would append.
    expect(first.get_by_label("Change the question")).to_be_focused()
    first.get_by_label("Change the question").fill("Q1 edited question")
    first.get_by_role("button", name="Send again").click()
    expect(page.locator(".bubble")).to_have_text(["Q1 edited question"])
    settle(page)

    # Back to the first version of Q1, then to the stopped first answer of Q2.
    page.locator(".exchange").first.get_by_role("link", name="Previous version").click()
    expect(page.locator(".bubble")).to_have_text(["Q1 the first question", "Q2 a table please"])
    for position in ("2/3", "1/3"):
        page.locator(".exchange").nth(1).get_by_role("link", name="Previous version").click()
        expect(page.locator(".exchange").nth(1).locator(".version-count")).to_have_text(position)
    expect(page.locator(".exchange").nth(1).locator(".answer-note")).to_have_text("Stopped.")

    page.locator(".conversation.current summary").click()
    page.get_by_role("link", name="Share or download…").click()
    expect(page.locator(".share-preview li")).to_have_text(
        ["Q1 the first question", "Q2 a table please (Stopped.)"]
    )
    with page.expect_download() as download:
        page.get_by_role("link", name="Download what is on screen as Markdown").click()
    markdown = (
        (tmp_path / "chat.md").read_text() if download.value.save_as(tmp_path / "chat.md") is None else ""
    )
    turns = re.findall(r"^## (You|fake-model)[^\n]*\n\n([^\n]*)", markdown, flags=re.MULTILINE)
    assert turns == [
        ("You", "Q1 the first question"),
        ("fake-model", "A1 the first answer."),
        ("You", "Q2 a table please"),
        ("fake-model", "| Step | Duration |"),
    ]
    assert markdown.rstrip().endswith("*Stopped.*") and "take." not in markdown and "edited" not in markdown
    page.get_by_role("button", name="Make a link").click()
    address = page.locator(".share-address").first.input_value()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "share-branch-on-screen.png", full_page=True)

    stranger = browser.new_context()
    try:
        shared = stranger.new_page()
        shared.goto(address)
        expect(shared.locator(".bubble")).to_have_text(["Q1 the first question", "Q2 a table please"])
        expect(shared.locator("article.answer").nth(1).locator("table th")).to_have_text(["Step", "Duration"])
        expect(shared.locator("article.answer").nth(1).locator(".answer-note")).to_have_text("Stopped.")
        expect(shared.get_by_text("take.")).to_have_count(0)
        expect(shared.get_by_text("edited")).to_have_count(0)
        shared.screenshot(path=OUTPUT / "shared-branch-on-screen.png", full_page=True)
    finally:
        stranger.close()
