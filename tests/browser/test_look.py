"""How the pages look and weigh: screenshots in both themes and sizes, axe-core, mobile, page weight."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from bench.page_weight import BUDGET_BYTES, BUDGET_REPEAT_REQUESTS, BUDGET_REQUESTS, BUDGET_WIRE_BYTES, weigh
from tests.browser.conftest import OUTPUT, ROOT, WATCH_CSP, Problems

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
RICH_ANSWER = """## Reversing a list

Use **slicing** or `reversed()`:

```python
def backwards(items: list[int]) -> list[int]:
    # a new list, the original is untouched
    return items[::-1]
```

| way | copies? |
| --- | :---: |
| `items[::-1]` | yes |
| `items.reverse()` | no |

1. Slicing is short.
2. `reverse()` works in place.
"""


@pytest.fixture
def conversation(browser: Browser, server, model) -> str:
    """A conversation with a rich answer and a second chat in the sidebar; returns its address."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url)
    for question, answer in (
        ("How do I count words in a file?", "Use `wc -w file.txt`."),
        ("How do I reverse a list in Python?", "You can do it in two ways."),
    ):
        model.configure(answer=answer)
        page.get_by_role("link", name="New chat").first.click()
        page.wait_for_load_state()  # Enter sends only once app.js has run
        page.get_by_label("Your question").fill(question)
        page.get_by_label("Your question").press("Enter")
        expect(page.locator(".answer-meta")).to_have_count(1)
    model.configure(answer=RICH_ANSWER)
    page.get_by_label("Your question").fill("Show me code\nand a table, please.")
    page.get_by_label("Your question").press("Enter")
    expect(page.locator(".answer-meta")).to_have_count(2)
    state = context.storage_state()
    url = page.url
    context.close()
    return url, state


def open_page(browser: Browser, state, url: str, scheme: str, viewport: dict) -> Iterator[Page]:
    context = browser.new_context(storage_state=state, color_scheme=scheme, viewport=viewport)
    page = context.new_page()
    problems = Problems()
    page.add_init_script(WATCH_CSP)
    page.on("console", problems.on_console)
    page.on("pageerror", lambda error: problems.console.append(f"pageerror: {error}"))
    page.goto(url)
    if page.locator("#sidebar").is_visible():
        expect(page.locator("#conversation-list .more")).to_have_count(0)
    yield page
    assert problems.console == [], problems.console
    assert page.evaluate("window.__cspViolations") == []
    context.close()


def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    """Save what the window shows (a whole page from its top: sticky bars stay where they belong)."""
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=OUTPUT / f"{name}.png", full_page=full_page)


def axe_violations(page: Page) -> list[str]:
    """Run axe-core in the page (through devtools, so the CSP is not involved) and list serious ones."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['html'][:120]})"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screenshots_and_accessibility(browser, server, conversation, scheme, size):
    url, state = conversation
    viewport = DESKTOP if size == "desktop" else PHONE
    OUTPUT.mkdir(exist_ok=True)
    for page in open_page(browser, state, url, scheme, viewport):
        expect(page.locator("pre.code .copy")).to_have_count(1)
        screenshot(page, f"chat-{size}-{scheme}")
        assert axe_violations(page) == []
        if size == "phone":
            expect(page.locator("#sidebar")).to_be_hidden()
            page.get_by_role("button", name="Chats").click()
            expect(page.locator("#sidebar")).to_be_visible()
            expect(page.locator(".conversation")).to_have_count(2)
            assert axe_violations(page) == []
            screenshot(page, f"chat-{size}-{scheme}-sidebar")
            page.keyboard.press("Escape")
            expect(page.locator("#sidebar")).to_be_hidden()
        page.goto(server.url + "/list")
        expect(page.locator("#history-rows > tr")).to_have_count(3)
        screenshot(page, f"history-{size}-{scheme}", full_page=True)
        assert axe_violations(page) == []
        for path in ("/", "/conversations"):
            page.goto(server.url + path)
            assert axe_violations(page) == []


def test_the_phone_layout_fits_without_sideways_scrolling(browser, server, conversation):
    url, state = conversation
    for page in open_page(browser, state, url, "light", PHONE):
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        composer = page.locator("#composer").bounding_box()
        assert composer["x"] >= 0 and composer["x"] + composer["width"] <= PHONE["width"]
        page.get_by_role("button", name="Chats").click()
        page.get_by_role("link", name=re.compile("How do I count words")).click()
        expect(page.locator(".bubble")).to_have_text("How do I count words in a file?")
        # A chat started before the drawer ever opened is listed once when it does.
        page.get_by_role("link", name="New chat").first.click()
        page.wait_for_load_state()  # Enter sends only once app.js has run
        page.get_by_label("Your question").fill("A third chat")
        page.get_by_label("Your question").press("Enter")
        expect(page.locator(".answer-meta")).to_have_count(1)
        page.get_by_role("button", name="Chats").click()
        expect(page.locator(".conversation > a")).to_have_text(
            ["A third chat", "How do I reverse a list in Python?", "How do I count words in a file?"]
        )


def test_the_first_load_stays_within_the_weight_budget(browser, server):
    weight = weigh(browser, server.url + "/")
    assert weight.foreign(server.url) == []
    assert weight.requests <= BUDGET_REQUESTS, weight.urls
    assert weight.raw <= BUDGET_BYTES, weight.raw
    assert weight.wire <= BUDGET_WIRE_BYTES, weight.wire
    assert weight.repeat_requests <= BUDGET_REPEAT_REQUESTS, weight.repeat_urls


# Each word of the answers' prose, lists, tables and inline code, as client rectangles:
# a word broken over two lines has two.
BROKEN_WORDS = """() => {
  const broken = [];
  for (const root of document.querySelectorAll('.answer-body')) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('pre')) continue;
      for (const match of node.textContent.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const rects = [...range.getClientRects()].filter(r => r.width > 0);
        const lines = new Set(rects.map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""


@pytest.mark.parametrize("width", [1280, 390, 320])
def test_no_word_is_broken_and_only_tables_and_code_scroll_sideways(browser, conversation, width):
    url, state = conversation
    for page in open_page(browser, state, url, "light", {"width": width, "height": 800}):
        expect(page.locator("article.answer table")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(BROKEN_WORDS) == []
        topbar = page.locator(".topbar").bounding_box()
        assert topbar["height"] < 60, "the top bar wraps onto a second line"
        expect(page.locator(".topbar .model")).to_be_visible()
        screenshot(page, f"chat-width-{width}")
