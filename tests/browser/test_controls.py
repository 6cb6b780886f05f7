"""Stop, Escape, regenerate, edit, retry, reload mid-answer, code blocks, keyboard, no JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser

LONG = dict(tokens=400, delay=0.03)
CODE_ANSWER = 'Here you go:\n\n```python\ndef greet(name):\n    return f"hi {name}"  # friendly\n```\n\nDone.'


def ask(page, text: str) -> None:
    field = page.get_by_label("Your question")
    field.fill(text)
    field.press("Enter")


def test_stop_button_keeps_the_partial_answer(page, server, model):
    model.configure(**LONG)
    page.goto(server.url)
    ask(page, "a long story please")
    answer = page.locator("article.answer")
    expect(answer).to_contain_text("w5")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "chat-desktop-light-streaming.png")
    page.locator("#composer").get_by_role("button", name="Stop the answer").click()
    expect(answer.locator(".answer-note")).to_have_text("Stopped.")
    expect(answer).not_to_have_class(re.compile(r"\blive\b"))
    expect(answer.locator(".markdown")).to_contain_text("w0 w1")
    assert "w399" not in answer.inner_text()
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible()
    page.reload()
    expect(page.locator("article.answer .answer-note")).to_have_text("Stopped.")


def test_escape_stops_the_answer(page, server, model):
    model.configure(**LONG)
    page.goto(server.url)
    ask(page, "another long story")
    expect(page.locator("article.answer")).to_contain_text("w3")
    page.keyboard.press("Escape")
    expect(page.locator("article.answer .answer-note")).to_have_text("Stopped.")


def test_regenerate_and_edit_keep_every_version(page, server, model):
    model.configure(answer="First take.")
    page.goto(server.url)
    ask(page, "first question")
    expect(page.locator("article.answer")).to_contain_text("First take.")
    expect(page.locator("article.answer.live")).to_have_count(0)
    ask(page, "secnd question")
    expect(page.locator("article.answer").nth(1)).to_contain_text("First take.")
    expect(page.locator("article.answer.live")).to_have_count(0)
    # Regenerate is offered under the last answer; Edit under every question.
    expect(page.get_by_role("button", name="Regenerate")).to_have_count(1)
    expect(page.locator(".exchange").first.get_by_text("Edit")).to_be_visible()

    model.configure(answer="Second take.")
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator("article.answer").nth(1)).to_contain_text("Second take.")
    expect(page.locator("article.answer").first).to_contain_text("First take.")
    expect(page.locator(".version-count")).to_have_text("2/2")

    model.configure(answer="Edited take.")
    page.locator(".exchange").nth(1).get_by_text("Edit", exact=True).click()
    field = page.locator(".exchange").nth(1).get_by_label("Change the question")
    expect(field).to_have_value("secnd question")
    expect(field).to_be_focused()  # the caret lands at the end first; filling before it would append
    field.fill("second question")
    field.press("Enter")
    expect(page.locator(".exchange").nth(1).locator(".bubble")).to_have_text("second question")
    expect(page.locator("article.answer").nth(1)).to_contain_text("Edited take.")
    expect(page.locator(".version-count")).to_have_text("3/3")
    page.get_by_role("link", name="Previous version").click()
    expect(page.locator(".version-count")).to_have_text("2/3")
    expect(page.locator("article.answer").nth(1)).to_contain_text("Second take.")
    page.reload()
    expect(page.locator(".bubble")).to_have_text(["first question", "secnd question"])
    expect(page.locator(".version-count")).to_have_text("2/3")


def test_retry_after_an_error(page, server, model):
    model.configure(status=500)
    page.goto(server.url)
    ask(page, "fail first")
    expect(page.locator("article.answer .answer-error")).to_contain_text("(500)")
    model.configure(status=200, answer="Recovered.")
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("article.answer")).to_contain_text("Recovered.")
    expect(page.locator("article.answer .answer-error")).to_have_count(0)


def test_retry_keeps_the_partial_answer_until_the_new_one_starts(page, server, model):
    model.configure(answer="The first words and then", drop_after=3)
    page.goto(server.url)
    ask(page, "cut off first")
    expect(page.locator("article.answer .answer-error")).to_contain_text("cut off")
    model.configure(answer="A whole new answer.", first_token_delay=1.5, drop_after=None)
    page.get_by_role("button", name="Retry").click()
    kept = page.locator("article.answer.live .previous")
    expect(kept).to_be_visible()
    expect(kept).to_contain_text("The first words")
    expect(page.locator("article.answer")).to_contain_text("A whole new answer.")
    expect(page.locator("article.answer .previous")).to_have_count(0)


def test_a_reload_mid_answer_loses_nothing(page, server, model):
    model.configure(tokens=120, delay=0.03)
    page.goto(server.url)
    ask(page, "keep going while I reload")
    expect(page.locator("article.answer")).to_contain_text("w40")
    expect(page).to_have_url(re.compile(r"/c/\d+$"))
    page.reload()
    answer = page.locator("article.answer")
    expect(answer.locator(".markdown")).to_contain_text("w119", timeout=20_000)
    words = answer.locator(".markdown").inner_text().split()
    assert words == [f"w{n}" for n in range(120)]
    assert model.stats["streams_started"] == 1


def test_code_blocks_are_highlighted_and_copied(page, server, model):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    model.configure(answer=CODE_ANSWER)
    page.goto(server.url)
    ask(page, "some code please")
    block = page.locator("article.answer pre.code")
    expect(block.locator(".highlight .k").first).to_have_text("def")
    expect(block).to_have_attribute("data-language", "python")
    copy = block.locator("button.copy")
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert (
        page.evaluate("navigator.clipboard.readText()")
        == 'def greet(name):\n    return f"hi {name}"  # friendly\n'
    )
    expect(page.locator("article.answer .answer-meta")).to_contain_text(
        re.compile(r"UTC · fake-model · \d+ → \d+ tokens · \d+\.\d s")
    )
    whole = page.locator("article.answer a.copy-answer")
    whole.click()
    expect(whole).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == CODE_ANSWER
    page.reload()
    expect(page.locator("article.answer pre.code .copy")).to_have_count(1)


def test_the_keyboard_alone_can_ask_and_focus_is_visible(page, server, model):
    page.goto(server.url + "/list")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.goto(server.url)
    expect(page.get_by_label("Your question")).to_be_focused()
    page.keyboard.type("typed only")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    page.keyboard.press("Enter")
    expect(page.locator(".bubble")).to_have_text("typed only\nsecond line")
    expect(page.locator("article.answer")).to_have_attribute("aria-live", "polite")


def test_without_javascript_every_control_still_works(browser, server, model):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        model.configure(answer="Plain **answer**.")
        page.goto(server.url)
        page.get_by_label("Your question").fill("no script here")
        page.get_by_role("button", name="Send").click()
        expect(page).to_have_url(re.compile(r"/c/\d+#exchange-\d+$"))
        expect(page.locator("article.answer strong")).to_have_text("answer")

        model.configure(answer="Regenerated without script.")
        page.get_by_role("button", name="Regenerate").click()
        expect(page.locator("article.answer")).to_contain_text("Regenerated without script.")

        model.configure(answer="Edited without script.")
        page.get_by_text("Edit", exact=True).click()
        page.get_by_label("Change the question").fill("edited, no script")
        page.get_by_role("button", name="Send again").click()
        expect(page.locator(".bubble")).to_have_text("edited, no script")
        expect(page.locator("article.answer")).to_contain_text("Edited without script.")

        page.goto(server.url + "/conversations")
        page.locator(".conversation summary").click()
        page.get_by_label("Title").fill("Renamed without script")
        page.get_by_role("button", name="Rename").click()
        expect(page.locator(".conversation a").first).to_have_text("Renamed without script")
        page.goto(server.url + "/conversations")
        page.locator(".conversation summary").click()
        page.get_by_role("button", name="Delete chat").click()
        expect(page.get_by_role("heading", name="Delete this conversation?")).to_be_visible()
        page.get_by_role("button", name="Delete", exact=True).click()
        expect(page).to_have_url(server.url + "/conversations")
        expect(page.locator(".conversation")).to_have_count(0)
        expect(page.get_by_text("No chats yet.")).to_be_visible()
    finally:
        context.close()
