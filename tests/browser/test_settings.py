"""The settings page without JavaScript: the theme chosen there colours every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser


def test_a_dark_theme_chosen_without_javascript_colours_the_pages(browser, server):
    context = browser.new_context(java_script_enabled=False, color_scheme="light")
    try:
        page = context.new_page()
        page.goto(server.url + "/settings")
        body = page.locator("body")
        expect(body).to_have_css("background-color", "rgb(255, 255, 255)")
        page.get_by_label("Dark").check()
        page.get_by_label("Your instructions").fill("Answer in short sentences.")
        page.get_by_label("Time zone").select_option("Europe/Paris")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        expect(page.get_by_label("Your instructions")).to_have_value("Answer in short sentences.")
        expect(body).to_have_css("background-color", "rgb(22, 24, 28)")
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=OUTPUT / "settings-dark.png", full_page=True)
        page.goto(server.url + "/")
        expect(body).to_have_css("background-color", "rgb(22, 24, 28)")
        page.goto(server.url + "/settings")
        page.get_by_label("Light").check()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        expect(body).to_have_css("background-color", "rgb(255, 255, 255)")
    finally:
        context.close()


def test_times_show_in_the_browsers_zone_else_in_the_chosen_one(browser, server, model):
    tokyo = browser.new_context(timezone_id="Asia/Tokyo")
    try:
        page = tokyo.new_page()
        page.goto(server.url)
        page.get_by_label("Your question").fill("What time is it in Tokyo?")
        page.get_by_label("Your question").press("Enter")
        stamp = page.locator("article.answer .answer-meta time")
        expect(stamp).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} (GMT\+9|JST)$"))
        page.reload()
        expect(page.locator(".question-meta time")).to_have_text(re.compile(r" (GMT\+9|JST)$"))
    finally:
        tokyo.close()
    unreadable = browser.new_context(java_script_enabled=False)
    try:
        page = unreadable.new_page()
        page.goto(server.url + "/settings")
        page.get_by_label("Time zone").select_option("America/New_York")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        page.goto(server.url)
        page.get_by_label("Your question").fill("And in New York?")
        page.get_by_role("button", name="Send").click()
        expect(page.locator(".question-meta time")).to_have_text(re.compile(r" E[SD]T$"))
    finally:
        unreadable.close()
