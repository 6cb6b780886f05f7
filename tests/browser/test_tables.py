"""A wide table in an answer, in Chromium: it scrolls sideways inside the answer, and no word is broken."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT
from tests.browser.test_look import BROKEN_WORDS

pytestmark = pytest.mark.browser

COLUMNS = ["Owner", "Backend", "Duration", "Everyone", "Frontend", "Database", "Deployment", "Monitoring"]
WIDE_TABLE = (
    "The services and who looks after them:\n\n"
    + "| "
    + " | ".join(COLUMNS)
    + " |\n"
    + "| "
    + " | ".join("---" for _ in COLUMNS)
    + " |\n"
    + "".join(
        "| " + " | ".join(f"{name.lower()} {row} team" for name in COLUMNS) + " |\n" for row in range(6)
    )
    + "\nAsk if anything is unclear.\n"
)


@pytest.mark.parametrize("width", [1280, 390])
def test_a_wide_table_scrolls_inside_the_answer_and_breaks_no_word(page, server, model, width):
    page.set_viewport_size({"width": width, "height": 800})
    model.configure(answer=WIDE_TABLE)
    page.goto(server.url)
    page.get_by_label("Your question").fill("Who owns what?")
    page.get_by_label("Your question").press("Enter")
    expect(page.locator("article.answer .answer-meta")).to_be_visible()
    table = page.locator("article.answer table")
    expect(table.locator("th")).to_have_text(COLUMNS)
    assert page.evaluate(BROKEN_WORDS) == []
    # The table scrolls in its own box; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box, answer = table.bounding_box(), page.locator("article.answer").bounding_box()
    assert box["x"] >= answer["x"] and box["x"] + box["width"] <= answer["x"] + answer["width"] + 1
    assert table.evaluate("t => t.scrollWidth > t.clientWidth")
    OUTPUT.mkdir(exist_ok=True)
    table.scroll_into_view_if_needed()
    page.screenshot(path=OUTPUT / f"table-wide-{width}.png")
    table.evaluate("t => t.scrollLeft = t.scrollWidth")
    expect(table.locator("th").last).to_be_in_viewport()
