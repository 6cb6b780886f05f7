"""Keyboard focus in Chromium: Stop, Rename and Keep forever hand it on; Edit opens in its box."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AppServer
from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """The app with retention on, so that a chat can be kept forever."""
    server = AppServer(tmp_path, model.url, RETENTION_DAYS="30")
    yield server
    server.stop()


def ask(page, text: str) -> None:
    field = page.get_by_label("Your question")
    field.fill(text)
    field.press("Enter")


def test_stop_hands_the_focus_back_to_the_question_box(page, server, model):
    model.configure(tokens=400, delay=0.03)
    page.goto(server.url)
    ask(page, "a long story")
    expect(page.locator("article.answer.live")).to_contain_text("w3")
    stop = page.locator("#composer").get_by_role("button", name="Stop the answer")
    stop.focus()
    page.keyboard.press("Enter")
    expect(page.locator("article.answer .answer-note")).to_have_text("Stopped.")
    expect(page.get_by_label("Your question")).to_be_focused()


def test_edit_opens_with_the_focus_in_its_box(page, server, model):
    page.goto(server.url)
    ask(page, "a question to edit")
    expect(page.locator("article.answer .answer-meta")).to_be_visible()
    page.locator(".exchange").get_by_text("Edit", exact=True).click()
    expect(page.get_by_label("Change the question")).to_be_focused()


def test_rename_and_keep_forever_leave_the_focus_on_the_chats_menu_and_the_chat_marked(page, server, model):
    page.goto(server.url)
    ask(page, "a chat worth keeping")
    expect(page.locator("article.answer .answer-meta")).to_be_visible()
    item = page.locator(".conversation").first
    menu = item.get_by_label(re.compile("Rename or delete"))
    menu.click()
    item.get_by_label("Title").fill("Kept chat")
    item.get_by_label("Title").press("Enter")
    expect(item.locator("> a")).to_contain_text("Kept chat")
    expect(page.locator(".conversation").first.get_by_label(re.compile("Rename or delete"))).to_be_focused()

    page.keyboard.press("Enter")  # opens the menu again
    page.locator(".conversation").first.get_by_role("button", name="Keep forever").click()
    item = page.locator(".conversation").first
    expect(item.get_by_text("Kept", exact=True)).to_be_visible()
    # Still the chat on screen: highlighted and marked as the current page.
    expect(item).to_have_class(re.compile(r"\bcurrent\b"))
    expect(item.locator("> a")).to_have_attribute("aria-current", "page")
    expect(item.get_by_label(re.compile("Rename or delete"))).to_be_focused()
    page.reload()
    expect(page.locator(".conversation").first.get_by_text("Kept", exact=True)).to_be_visible()
