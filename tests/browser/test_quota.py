"""A person over the day's tokens, in Chromium: the question is refused with when the count starts again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT, AppServer
from tests.browser.test_people import make_account
from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, model: FakeLLM) -> Iterator[AppServer]:
    """The app with accounts and a small allowance of tokens per day."""
    server = AppServer(tmp_path, model.url, SIGN_IN="accounts", TOKENS_PER_DAY="40")
    yield server
    server.stop()


def test_a_question_over_the_days_tokens_is_refused_and_kept(page, server, problems):
    problems.allow("429")
    page.goto(f"{server.url}/signup")
    make_account(page, page.url, "ada")
    composer = page.get_by_label("Your question")
    composer.fill("A first question")
    composer.press("Enter")
    expect(page.locator("article.answer .answer-meta")).to_contain_text("fake-model")
    composer.fill("One question too many")
    composer.press("Enter")
    expect(page.locator("#composer-error")).to_contain_text("You have used today's 40 tokens")
    expect(page.locator("#composer-error")).to_contain_text("starts again at 00:00 UTC")
    expect(composer).to_have_value("One question too many")
    expect(page.locator("article.answer")).to_have_count(1)
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "quota-refusal.png")
