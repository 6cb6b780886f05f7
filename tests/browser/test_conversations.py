"""The sidebar in Chromium: new chat, switching, rename, delete, reloads, privacy between browsers."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app import messages

pytestmark = pytest.mark.browser


def ask(page, text: str) -> None:
    """Ask and wait until the answer is complete."""
    answers = page.locator("article.answer:not(.live)")
    before = answers.count()
    field = page.get_by_label("Your question")
    field.fill(text)
    field.press("Enter")
    expect(answers).to_have_count(before + 1)
    expect(page).to_have_url(re.compile(r"/c/\d+$"))


def chats(page):
    return page.locator("#conversation-list .conversation > a")


def test_chats_are_listed_newest_first_and_each_reloads_to_its_own_state(page, server, model):
    page.goto(server.url)
    expect(page.locator("#conversation-list .none")).to_have_text("No chats yet.")
    ask(page, "First chat about  cats")
    expect(chats(page)).to_have_text(["First chat about cats"])
    expect(page.locator("#conversation-list .none")).to_be_hidden()
    first_url = page.url
    page.get_by_role("link", name="New chat").first.click()
    expect(page).to_have_url(server.url + "/")
    ask(page, "Second chat about dogs")
    ask(page, "a follow-up")
    expect(chats(page)).to_have_text(["Second chat about dogs", "First chat about cats"])
    expect(page.locator(".conversation.current > a")).to_have_attribute("aria-current", "page")

    chats(page).nth(1).click()
    expect(page).to_have_url(first_url)
    expect(page.locator(".bubble")).to_have_text(["First chat about  cats"])
    expect(page).to_have_title("First chat about cats · GPT Answers")
    page.reload()
    expect(page.locator(".bubble")).to_have_text(["First chat about  cats"])
    expect(page.locator(".conversation.current > a")).to_have_text("First chat about cats")


def test_rename_and_delete_from_the_sidebar(page, server, model):
    page.goto(server.url)
    ask(page, "keep me")
    page.get_by_role("link", name="New chat").first.click()
    ask(page, "delete me later")
    item = page.locator(".conversation").first
    item.get_by_label(re.compile("Rename or delete")).click()
    field = item.get_by_label("Title")
    field.fill("My renamed chat")
    field.press("Enter")
    expect(chats(page).first).to_have_text("My renamed chat")
    # The chat on screen takes its new name in the heading and the browser tab without a reload.
    expect(page).to_have_title("My renamed chat · GPT Answers")
    expect(page.locator("#chat-title")).to_have_text("My renamed chat")
    page.reload()
    expect(chats(page).first).to_have_text("My renamed chat")
    expect(page).to_have_title("My renamed chat · GPT Answers")

    # Deleting another chat removes it in place.
    page.once("dialog", lambda dialog: dialog.accept())
    other = page.locator(".conversation").nth(1)
    other.get_by_label(re.compile("Rename or delete")).click()
    other.get_by_role("button", name="Delete chat").click()
    expect(chats(page)).to_have_text(["My renamed chat"])
    # Deleting the chat on screen starts a new one; dismissing the question keeps it.
    current = page.locator(".conversation").first
    current.get_by_label(re.compile("Rename or delete")).click()
    page.once("dialog", lambda dialog: dialog.dismiss())
    current.get_by_role("button", name="Delete chat").click()
    expect(chats(page)).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    current.get_by_role("button", name="Delete chat").click()
    expect(page).to_have_url(server.url + "/")
    expect(page.locator("#conversation-list .none")).to_have_text("No chats yet.")


def test_another_browser_sees_none_of_these_chats(browser, page, server, model):
    page.goto(server.url)
    ask(page, "my private chat")
    private_url = page.url
    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(server.url)
        expect(other.locator("#conversation-list .none")).to_have_text("No chats yet.")
        response = other.goto(private_url)
        assert response.status == 404
        expect(other.get_by_text(messages.NOT_YOURS)).to_be_visible()
        other.goto(server.url + "/list")
        expect(other.get_by_text("my private chat")).to_have_count(0)
    finally:
        stranger.close()


def test_asking_moves_a_chat_to_the_top_and_a_new_chat_names_the_tab(page, server, model):
    page.goto(server.url)
    ask(page, "Older chat about bread")
    expect(page).to_have_title("Older chat about bread · GPT Answers")
    expect(page.locator("h1#chat-title")).to_have_text("Older chat about bread")
    page.get_by_role("link", name="New chat").first.click()
    ask(page, "Newer chat about cheese")
    expect(page).to_have_title("Newer chat about cheese · GPT Answers")
    chats(page).nth(1).click()
    expect(chats(page)).to_have_text(["Newer chat about cheese", "Older chat about bread"])
    ask(page, "and rye?")
    expect(chats(page)).to_have_text(["Older chat about bread", "Newer chat about cheese"])
    expect(page.locator(".conversation.current > a")).to_have_text("Older chat about bread")
