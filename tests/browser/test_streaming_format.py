"""Answers formatted while they stream in Chromium, and a final swap that moves nothing visibly."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT
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
