"""Answers formatted while they stream in Chromium, and a final swap that moves nothing visibly."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT
from tests.fake_llm import tokens
from tests.test_answer_streaming_blocks import RICH

pytestmark = pytest.mark.browser

# Heights of the conversation just before and just after the final HTML replaces the live answer.
WATCH_FINAL = """
window.__heights = [];
document.addEventListener("htmx:sseBeforeMessage", (e) => {
  if (e.detail.type !== "final") return;
  const height = () => document.getElementById("messages").offsetHeight;
  window.__heights.push(height());
  setTimeout(() => window.__heights.push(height()), 200);
});
"""


def test_blocks_are_formatted_as_they_stream_and_the_end_does_not_jump(page, server, model):
    page.add_init_script(WATCH_FINAL)
    model.configure(answer=RICH * 3, delay=0.02)
    page.goto(server.url)
    field = page.get_by_label("Your question")
    field.fill("How do I bake sourdough?")
    field.press("Enter")
    live = page.locator("article.answer.live")
    expect(live.locator("h2").first).to_have_text("Sourdough in three steps")
    expect(live.locator("strong").first).to_have_text("starter")
    # A fence is code from its first line.
    expect(live.locator(".live-open pre.code")).to_have_count(1)
    expect(live.locator("table").first).to_be_visible()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "streaming-formatted.png", caret="initial")
    assert "**" not in live.locator(".live-blocks").inner_text()
    expect(page.locator("article.answer .answer-meta")).to_be_visible()
    # Polled from here: the page's CSP forbids the eval that wait_for_function needs.
    for _ in range(100):
        if page.evaluate("window.__heights.length") == 2:
            break
        page.wait_for_timeout(50)
    before, after = page.evaluate("window.__heights")
    change = abs(after - before) / before
    print(f"\nfinal swap: {before} px -> {after} px ({change:.1%})")
    assert change <= 0.02, (before, after)
    expect(page.locator("article.answer h2")).to_have_count(3)


WIDE_TABLE = (
    "Here is the plan:\n\n| Owner | Backend | Duration | Everyone |\n| --- | --- | ---: | --- |\n"
    + "".join(f"| Owner {n} | Backend service {n} | {n} h | Everyone reads row {n} |\n" for n in range(40))
    + "\nThat is all.\n"
)


# The model holds here until released: in the middle of the row for Owner 10.
MID_TABLE = len(tokens(WIDE_TABLE[: WIDE_TABLE.index("Backend service 10")]))


def test_a_table_streams_as_rows_never_as_raw_text(page, server, model):
    model.configure(answer=WIDE_TABLE, delay=0.005, pauses=[MID_TABLE])
    page.goto(server.url)
    field = page.get_by_label("Your question")
    field.fill("A table please")
    field.press("Enter")
    live = page.locator("article.answer.live")
    rows = live.locator("table tbody tr")
    # While the table is written: its complete rows in the table, the open one not as `| … |` text.
    expect(rows).to_have_count(10)
    assert "|" not in live.inner_text()
    expect(rows.nth(5).locator("td").nth(2)).to_have_text("5 h")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "streaming-table.png", caret="initial")
    model.release()
    expect(page.locator("article.answer .answer-meta")).to_be_visible()
    expect(page.locator("article.answer table tbody tr")).to_have_count(40)
