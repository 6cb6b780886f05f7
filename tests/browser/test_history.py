"""A person scrolls a long history in Chromium, searches it, and deletes from it."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bench.seed import Plan, load

pytestmark = pytest.mark.browser


def ask_once(page, server, database: Path) -> str:
    """Ask a question on the chat page and return this browser's owner id, as stored with it."""
    page.goto(server.url)
    page.get_by_label("Your question").fill("Where do tomatoes grow best?")
    page.get_by_label("Your question").press("Enter")
    expect(page.locator("article.answer .answer-meta")).to_contain_text("fake-model")
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT owner FROM exchanges").fetchone()[0]


def test_scrolling_loads_pages_then_a_search_shows_only_matching_rows(page, server):
    database = server.log.parent / "answers.db"
    owner = ask_once(page, server, database)
    load(f"sqlite:///{database}", Plan(130, [owner], [1.0], seed=3))

    page.goto(f"{server.url}/list")
    rows = page.locator("#history-rows tr[id^='exchange-row-']")
    expect(rows).to_have_count(50)
    # Each scroll loads the next page; a busy browser still scrolling as a page arrives may load two.
    shown = 50
    while shown < 131:
        page.mouse.wheel(0, 100_000)
        page.wait_for_function(
            "(shown) => document.querySelectorAll(\"#history-rows tr[id^='exchange-row-']\").length > shown",
            arg=shown,
        )
        shown = rows.count()
        assert shown in (100, 131), shown
    expect(rows).to_have_count(131)
    expect(page.locator("tr.more")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/list$"))

    with sqlite3.connect(database) as connection:
        expected = connection.execute(
            "SELECT COUNT(*) FROM exchanges_search WHERE exchanges_search MATCH 'tomatoes'"
        ).fetchone()[0]
    assert 1 < expected < 50
    page.get_by_label("Search").press_sequentially("tomatoes", delay=30)
    expect(page).to_have_url(re.compile(r"/list\?q=tomatoes"))
    expect(rows).to_have_count(expected)
    for text in rows.all_text_contents():
        assert "tomatoes" in text.lower()

    page.reload()
    expect(page.get_by_label("Search")).to_have_value("tomatoes")
    expect(rows).to_have_count(expected)

    first = rows.first
    answer = first.locator(".answer details")
    if answer.count():
        answer.locator("summary").click()
        expect(answer.locator(".markdown")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    first.get_by_role("button", name="Delete", exact=True).click()
    expect(rows).to_have_count(expected - 1)
    page.reload()
    expect(rows).to_have_count(expected - 1)


def test_deleting_a_conversation_removes_each_of_its_rows_in_place(page, server):
    database = server.log.parent / "answers.db"
    owner = ask_once(page, server, database)
    load(f"sqlite:///{database}", Plan(40, [owner], [1.0], seed=5))
    with sqlite3.connect(database) as connection:
        conversation, size = connection.execute(
            "SELECT conversation_id, COUNT(*) FROM exchanges GROUP BY conversation_id"
            " HAVING COUNT(*) > 1 ORDER BY conversation_id DESC LIMIT 1"
        ).fetchone()
    page.goto(f"{server.url}/list")
    rows = page.locator("#history-rows tr[id^='exchange-row-']")
    expect(rows).to_have_count(41)
    expect(page.locator(f"tr.conversation-{conversation}")).to_have_count(size)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"tr.conversation-{conversation}").first.get_by_role(
        "button", name="Delete conversation"
    ).click()
    expect(page.locator(f"tr.conversation-{conversation}")).to_have_count(0)
    expect(rows).to_have_count(41 - size)
    page.reload()
    expect(rows).to_have_count(41 - size)
