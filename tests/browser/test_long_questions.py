"""A long paste in Chromium: nothing cut, a counter as the limit nears, a clear message past it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser

PASTE = ("A pasted log line. " * 600)[:10_006] + "!"


def test_a_long_paste_is_kept_whole_counted_and_refused_with_its_length(page, server, problems):
    problems.allow("status of 422")
    page.goto(server.url)
    field = page.get_by_label("Your question")
    counter = page.locator("#composer-count")
    field.focus()
    page.keyboard.insert_text("x" * 7_000)
    expect(counter).to_have_text("7,000 / 8,000 characters")
    field.fill("")
    page.keyboard.insert_text(PASTE)
    assert len(field.input_value()) == 10_007
    expect(counter).to_have_text(
        "10,007 / 8,000 characters: 2,007 too many. Shorten your question to send it; nothing has been cut."
    )
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "long-paste-counted.png", caret="initial")
    field.press("Enter")
    expect(page.locator("#composer-error")).to_have_text(
        "Your question is 10,007 characters long; the limit is 8,000. Shorten it and send again."
    )
    assert field.input_value() == PASTE
    expect(page.locator(".exchange")).to_have_count(0)
    field.fill(PASTE[:8_000])
    expect(counter).to_have_text("8,000 / 8,000 characters")
    field.press("Enter")
    expect(page.locator(".exchange")).to_have_count(1)
    expect(counter).to_have_text("")
    expect(page.locator("article.answer.live")).to_have_count(0)


def test_a_very_long_question_collapses_behind_show_more(page, server, model):
    page.goto(server.url)
    question = "\n".join(f"line {n} of a long pasted question" for n in range(80))
    field = page.get_by_label("Your question")
    field.fill(question)
    field.press("Enter")
    bubble = page.locator(".bubble")
    expect(bubble).to_have_text(question)
    collapsed = bubble.bounding_box()["height"]
    more = page.get_by_text("Show more")
    expect(more).to_be_visible()
    more.click()
    expect(page.get_by_text("Show less")).to_be_visible()
    expanded = bubble.bounding_box()["height"]
    assert collapsed < 300 < expanded, (collapsed, expanded)
    expect(page.locator("article.answer.live")).to_have_count(0)
