"""One answer at a time in the page: Send becomes Stop while an answer is written; a follow-up keeps it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser


def test_send_becomes_stop_and_a_follow_up_waits_for_the_answer(page, server, model):
    model.configure(tokens=300, delay=0.03)
    page.goto(server.url)
    field = page.get_by_label("Your question")
    field.fill("first question")
    field.press("Enter")
    answer = page.locator("article.answer")
    expect(answer).to_contain_text("w5")

    composer = page.locator("#composer")
    expect(composer.get_by_role("button", name="Send")).to_be_hidden()
    expect(composer.get_by_role("button", name="Stop the answer")).to_be_visible()
    field.fill("second question")
    field.press("Enter")
    page.wait_for_timeout(500)
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "follow-up-while-streaming.png", caret="initial")
    expect(page.locator(".exchange")).to_have_count(1)
    expect(field).to_have_value("second question")

    composer.get_by_role("button", name="Stop the answer").click()
    expect(answer.locator(".answer-note")).to_have_text("Stopped.")
    expect(composer.get_by_role("button", name="Send")).to_be_visible()
    expect(composer.get_by_role("button", name="Stop the answer")).to_be_hidden()
    partial = answer.locator(".markdown").inner_text()

    model.reset()
    model.configure(answer="The second answer.")
    field.press("Enter")
    expect(page.locator("article.answer").nth(1)).to_contain_text("The second answer.")
    expect(page.locator("article.answer.live")).to_have_count(0)
    sent = model.requests[-1]["messages"]
    assert [m["content"] for m in sent[1:]][0::2] == ["first question", "second question"]
    assert sent[2]["role"] == "assistant" and sent[2]["content"].strip() == partial.strip()
    assert re.search(r"w5\b", sent[2]["content"])


def test_scrolled_up_during_an_answer_a_button_brings_back_the_end_and_stop_stays_reachable(
    page, server, model
):
    model.configure(tokens=6000, delay=0.003)
    page.goto(server.url)
    field = page.get_by_label("Your question")
    field.fill("a very long story")
    field.press("Enter")
    # Enough text to scroll: the answer is taller than the window.
    expect(page.locator("article.answer")).to_contain_text("w1500", timeout=30_000)
    assert page.evaluate("document.body.scrollHeight") > 2 * page.viewport_size["height"]
    down = page.get_by_role("button", name="Scroll to the newest message")
    expect(down).to_be_hidden()
    page.mouse.wheel(0, -3000)
    expect(down).to_be_visible()
    expect(page.locator("#composer").get_by_role("button", name="Stop the answer")).to_be_in_viewport()
    down.click()
    expect(down).to_be_hidden()
    page.keyboard.press("Escape")
    expect(page.locator("article.answer.live")).to_have_count(0)
