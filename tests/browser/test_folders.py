"""Folders, pins and the sidebar's search in Chromium: with JavaScript, without it, in the phone's drawer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app import messages
from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def ask(page, text: str) -> None:
    """Ask and wait until the answer is complete."""
    page.wait_for_load_state()
    answers = page.locator("article.answer:not(.live)")
    before = answers.count()
    field = page.get_by_label("Your question")
    field.fill(text)
    field.press("Enter")
    expect(answers).to_have_count(before + 1)
    expect(page).to_have_url(re.compile(r"/c/\d+$"))


def new_chat(page) -> None:
    page.get_by_role("link", name="New chat").first.click()
    page.wait_for_load_state()


def chat_menu(page, title: str):
    item = page.locator(".conversation", has=page.get_by_role("link", name=title, exact=True))
    item.get_by_label(re.compile("Rename or delete")).click()
    return item


def make_folder(page, name: str) -> None:
    page.get_by_role("link", name="New folder…").click()
    page.get_by_label("Folder name").fill(name)
    page.get_by_role("button", name="Create").click()
    expect(page.locator(".folder-name", has_text=name)).to_be_visible()


def test_folders_pins_and_search_in_the_sidebar(page, server, model):
    page.goto(server.url)
    ask(page, "Chat about sourdough bread")
    new_chat(page)
    ask(page, "Chat about tidal pools")
    new_chat(page)
    ask(page, "Chat about mountain huts")

    make_folder(page, "Kitchen")
    make_folder(page, "Travel")
    # Into a folder from the chat's menu; the chat on screen opens its folder.
    chat_menu(page, "Chat about sourdough bread").get_by_role("link", name="Move to a folder…").click()
    page.get_by_label("Kitchen").check()
    page.get_by_role("button", name="Move").click()
    expect(page).to_have_url(re.compile(r"/c/\d+$"))
    kitchen = page.locator(".folder", has=page.locator(".folder-name", has_text="Kitchen"))
    expect(kitchen.locator(".conversation > a")).to_have_text(["Chat about sourdough bread"])
    expect(page.locator("#conversation-list .conversation > a")).to_have_text(
        ["Chat about mountain huts", "Chat about tidal pools"]
    )

    # Pinned to the top, and back.
    chat_menu(page, "Chat about tidal pools").get_by_role("button", name="Pin to the top").click()
    expect(page.locator("#pinned-list .conversation > a")).to_have_text(["Chat about tidal pools"])
    expect(page.locator("#conversation-list .conversation > a")).to_have_text(["Chat about mountain huts"])
    expect(page.locator("#pinned-list .menu > summary")).to_be_focused()

    # A closed folder loads its chats when opened.
    chat_menu(page, "Chat about mountain huts").get_by_role("link", name="Move to a folder…").click()
    page.get_by_label("Travel").check()
    page.get_by_role("button", name="Move").click()
    new_chat(page)
    travel = page.locator(".folder", has=page.locator(".folder-name", has_text="Travel"))
    travel.locator("summary").click()
    expect(travel.locator(".conversation > a")).to_have_text(["Chat about mountain huts"])
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "sidebar-folders.png")

    # The search filters as one types, by title or text, and an emptied box brings the sidebar back.
    search = page.get_by_label("Search your chats")
    search.press_sequentially("tidal")
    expect(page.locator("#conversation-list .conversation > a")).to_have_text(["Chat about tidal pools"])
    expect(page.locator("#pinned-list")).to_have_count(0)
    page.screenshot(path=OUTPUT / "sidebar-search.png")
    search.fill("nothing like this")
    expect(page.locator("#conversation-list .none")).to_have_text(messages.NO_CHAT_MATCHES)
    search.fill("")
    expect(page.locator("#pinned-list .conversation > a")).to_have_text(["Chat about tidal pools"])

    # Deleting a folder keeps its chats.
    kitchen.locator("summary").click()
    kitchen.get_by_role("link", name="Folder settings…").click()
    page.get_by_role("button", name="Delete folder").click()
    expect(page.locator(".folder-name", has_text="Kitchen")).to_have_count(0)
    expect(page.locator("#conversation-list .conversation > a")).to_have_text(["Chat about sourdough bread"])


def test_without_javascript_folders_pins_and_search_are_forms(browser, server, model):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server.url)
        page.get_by_label("Your question").fill("A question about lighthouses")
        page.get_by_role("button", name="Send").click()
        expect(page).to_have_url(re.compile(r"/c/\d+#exchange-\d+$"))
        chat_url = page.url.partition("#")[0]
        page.get_by_role("link", name="New folder…").click()
        page.get_by_label("Folder name").fill("Coasts")
        page.get_by_role("button", name="Create").click()
        expect(page).to_have_url(chat_url)
        chat_menu(page, "A question about lighthouses").get_by_role("link", name="Move to a folder…").click()
        page.get_by_label("Coasts").check()
        page.get_by_role("button", name="Move").click()
        expect(page).to_have_url(chat_url)
        expect(page.locator(".folder-chats .conversation > a")).to_have_text(["A question about lighthouses"])
        chat_menu(page, "A question about lighthouses").get_by_role("button", name="Pin to the top").click()
        expect(page.locator("#pinned-list .conversation > a")).to_have_text(["A question about lighthouses"])
        page.get_by_label("Search your chats").fill("lighthouses")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"/chats/search\?q=lighthouses"))
        found = page.locator("#conversation-list .conversation > a")
        expect(found).to_have_text(["A question about lighthouses"])
    finally:
        context.close()


def test_the_phone_drawer_holds_the_search_and_the_folders(page, server, model):
    page.set_viewport_size(PHONE)
    page.goto(server.url)
    ask(page, "A question asked on a phone")
    toggle = page.get_by_role("button", name="Chats")
    toggle.click()
    expect(page.get_by_label("Search your chats")).to_be_visible()
    page.get_by_role("link", name="New folder…").click()
    page.get_by_label("Folder name").fill("Pocket")
    page.get_by_role("button", name="Create").click()
    page.wait_for_load_state()
    toggle.click()
    expect(page.locator(".folder-name", has_text="Pocket")).to_be_visible()
    chat_menu(page, "A question asked on a phone").get_by_role("button", name="Pin to the top").click()
    expect(page.locator("#pinned-list .conversation > a")).to_have_text(["A question asked on a phone"])
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "phone-sidebar-folders.png")
