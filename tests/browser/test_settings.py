"""The settings page without JavaScript: the theme chosen there colours every page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser


def test_a_dark_theme_chosen_without_javascript_colours_the_pages(browser, server):
    context = browser.new_context(java_script_enabled=False, color_scheme="light")
    try:
        page = context.new_page()
        page.goto(server.url + "/settings")
        background = "getComputedStyle(document.body).backgroundColor"
        assert page.evaluate(background) == "rgb(255, 255, 255)"
        page.get_by_label("Dark").check()
        page.get_by_label("Your instructions").fill("Answer in short sentences.")
        page.get_by_label("Time zone").select_option("Europe/Paris")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        expect(page.get_by_label("Your instructions")).to_have_value("Answer in short sentences.")
        assert page.evaluate(background) == "rgb(22, 24, 28)"
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=OUTPUT / "settings-dark.png", full_page=True)
        page.goto(server.url + "/")
        assert page.evaluate(background) == "rgb(22, 24, 28)"
        page.goto(server.url + "/settings")
        page.get_by_label("Light").check()
        page.get_by_role("button", name="Save").click()
        assert page.evaluate(background) == "rgb(255, 255, 255)"
    finally:
        context.close()
