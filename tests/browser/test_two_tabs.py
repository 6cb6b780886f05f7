"""Two tabs on one chat in Chromium: the second learns of the first's exchange before it asks after it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(whole_browser):
    """The whole Chromium: the headless shell's tabs never gain or lose focus."""
    return whole_browser


def real_focus(page) -> None:
    """Let the page see its window gain and lose focus as tabs switch (Playwright fakes focus by default)."""
    page.context.new_cdp_session(page).send("Emulation.setFocusEmulationEnabled", {"enabled": False})


def ask(page, text: str) -> None:
    field = page.get_by_label("Your question")
    field.fill(text)
    field.press("Enter")


def second_tab(page, server):
    """A chat of one exchange in the first tab, and a second tab open on it."""
    page.goto(server.url)
    ask(page, "first question")
    expect(page.locator("article.answer .answer-meta")).to_contain_text("fake-model")
    tab_b = page.context.new_page()
    tab_b.set_default_timeout(15_000)
    tab_b.goto(page.url)
    return tab_b


def test_a_second_tab_shows_the_first_tabs_exchange_streaming_then_asks_after_it(page, server, model):
    tab_b = second_tab(page, server)
    real_focus(page)
    real_focus(tab_b)
    expect(tab_b.locator(".exchange")).to_have_count(1)

    # Tab A asks while tab B is in the background; the model holds after 25 words until released.
    model.configure(tokens=40, delay=0.01, pauses=[25])
    page.bring_to_front()
    ask(page, "asked in tab A")
    expect(page.locator("article.answer.live")).to_contain_text("w3")

    # Tab B comes back: it shows A's question, and A's answer as it is written.
    tab_b.bring_to_front()
    exchanges = tab_b.locator(".exchange")
    expect(exchanges).to_have_count(2)
    expect(exchanges.nth(1).locator(".bubble")).to_have_text("asked in tab A")
    expect(tab_b.locator("article.answer.live")).to_contain_text("w24")
    OUTPUT.mkdir(exist_ok=True)
    tab_b.screenshot(path=OUTPUT / "two-tabs-b-follows-a.png")
    model.release()
    expect(tab_b.locator("article.answer.live")).to_have_count(0)
    expect(exchanges.nth(1).locator("article.answer")).to_contain_text("w39")

    # B's question follows A's exchange: a third exchange, no second version of A's.
    model.configure(tokens=5, delay=0)
    ask(tab_b, "asked in tab B")
    expect(exchanges).to_have_count(3)
    expect(exchanges.nth(2).locator(".answer-meta")).to_contain_text("fake-model")
    expect(tab_b.locator(".version-count")).to_have_count(0)
    page.reload()
    expect(page.locator(".exchange .bubble")).to_have_text(
        ["first question", "asked in tab A", "asked in tab B"]
    )
    expect(page.locator(".version-count")).to_have_count(0)
    tab_b.close()


def test_a_tab_that_missed_an_exchange_is_shown_it_and_keeps_its_question(page, server, model, problems):
    problems.allow("409")
    tab_b = second_tab(page, server)
    # Tab A asks on; tab B, never told (its window never left and came back), still shows one exchange.
    ask(page, "asked in tab A")
    expect(page.locator("article.answer .answer-meta")).to_have_count(2)
    ask(tab_b, "asked in tab B")

    expect(tab_b.locator("#composer-error")).to_contain_text("This chat went on in another tab or window")
    expect(tab_b.locator(".exchange .bubble")).to_have_text(["first question", "asked in tab A"])
    expect(tab_b.get_by_label("Your question")).to_have_value("asked in tab B")
    tab_b.get_by_label("Your question").press("Enter")
    expect(tab_b.locator(".exchange .bubble")).to_have_text(
        ["first question", "asked in tab A", "asked in tab B"]
    )
    expect(tab_b.locator("article.answer .answer-meta")).to_have_count(3)
    expect(tab_b.locator("#composer-error")).to_be_empty()
    expect(tab_b.locator(".version-count")).to_have_count(0)
    tab_b.close()
