"""Times in the viewer's time zone, labelled; UTC, labelled, without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def answer_time(page, question: str):
    """Ask, and the time under the finished answer."""
    field = page.get_by_label("Your question")
    field.fill(question)
    field.press("Enter")
    return page.locator("article.answer:not(.live) .answer-meta time")


def test_times_show_in_the_viewers_time_zone(browser, server, model):
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        page.goto(server.url)
        meta = answer_time(page, "what time is it?")
        expect(meta).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d GMT\+9$"))
        expect(page.locator(".question-meta time")).to_have_text(re.compile(r"GMT\+9$"))
        expect(meta).to_have_attribute("title", re.compile(r"UTC$"))
        page.goto(server.url + "/list")
        expect(page.locator("#history-rows time").first).to_have_text(re.compile(r"GMT\+9$"))
    finally:
        context.close()
    plain = browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    try:
        page = plain.new_page()
        page.goto(server.url)
        page.get_by_label("Your question").fill("and without script?")
        page.get_by_role("button", name="Send").click()
        expect(page.locator(".answer-meta time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    finally:
        plain.close()


def test_a_zone_chosen_in_the_settings_wins_over_the_browsers_and_settings_says_so(browser, server, model):
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        page.goto(server.url + "/settings")
        expect(page.locator("#time-zone-help")).to_have_text(
            re.compile(r"A zone chosen here is used on every page.*Without one, your browser's zone", re.S)
        )
        page.get_by_label("Time zone").select_option("America/New_York")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        page.goto(server.url)
        meta = answer_time(page, "what time is it in New York?")
        expect(meta).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T$"))
        expect(page.locator(".question-meta time")).to_have_text(re.compile(r"E[SD]T$"))
    finally:
        context.close()
