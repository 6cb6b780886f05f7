"""A refused question in Chromium: the sentence under the composer, in view, the question kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import OUTPUT, WATCH_CSP, AppServer
from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.browser

# Sixty paragraphs of ten words: a long page, and more than the day's 500 tokens.
LONG_ANSWER = "\n\n".join(f"Paragraph {n} says a little more about the question." for n in range(60))


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """The app with 500 tokens a day for each person."""
    server = AppServer(tmp_path, model.url, TOKENS_PER_DAY="500")
    yield server
    server.stop()


def spend_the_days_tokens(page, server, model) -> None:
    model.configure(answer=LONG_ANSWER)
    page.goto(server.url)
    composer = page.get_by_label("Your question")
    composer.fill("Tell me everything")
    composer.press("Enter")
    expect(page.locator("article.answer .answer-meta")).to_contain_text("fake-model")
    assert page.evaluate("document.body.scrollHeight") > 2500


def test_a_spent_quota_is_said_under_the_composer_in_view(page, server, model, problems):
    problems.allow("429")
    spend_the_days_tokens(page, server, model)
    composer = page.get_by_label("Your question")
    composer.fill("One question too many")
    composer.press("Enter")
    error = page.locator("#composer-error")
    expect(error).to_contain_text("You have used today's 500 tokens")
    expect(error).to_be_in_viewport()
    expect(composer).to_have_value("One question too many")
    expect(page.locator("#flash")).to_be_empty()

    # Regenerate meets the same refusal, in the same place; the chat stays as it was.
    page.get_by_role("button", name="Regenerate").click()
    expect(error).to_contain_text("You have used today's 500 tokens")
    expect(error).to_be_in_viewport()
    expect(page.locator("article.answer")).to_have_count(1)
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "quota-refusal-under-the-composer.png")


def test_without_javascript_a_spent_quota_is_said_under_the_composer(
    browser: Browser, page, server, model, problems
):
    spend_the_days_tokens(page, server, model)
    cookies = page.context.cookies()
    context = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=False)
    context.add_cookies(cookies)
    plain = context.new_page()
    plain.add_init_script(WATCH_CSP)
    plain.goto(f"{server.url}/c/1")
    plain.get_by_label("Your question").fill("Asked without JavaScript")
    plain.get_by_role("button", name="Send").click()
    error = plain.locator("#composer-error")
    expect(error).to_contain_text("You have used today's 500 tokens")
    expect(error).to_be_in_viewport()
    expect(plain.get_by_label("Your question")).to_have_value("Asked without JavaScript")
    plain.screenshot(path=OUTPUT / "quota-refusal-without-javascript.png")
    context.close()
