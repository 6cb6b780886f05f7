"""Versions in Chromium: an earlier question edited starts a branch, ‹ › moves between versions."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser


def ask(page, text: str) -> None:
    field = page.get_by_label("Your question")
    field.fill(text)
    field.press("Enter")
    expect(page.locator(".bubble").last).to_have_text(text)
    expect(page.locator("article.answer.live")).to_have_count(0)


def test_editing_an_earlier_question_starts_a_branch_the_model_follows(page, server, model):
    page.goto(server.url)
    for n in (1, 2, 3):
        model.configure(answer=f"Answer {n}.")
        ask(page, f"Question {n}")
        expect(page.locator("article.answer").nth(n - 1)).to_contain_text(f"Answer {n}.")

    model.configure(answer="Answer 2, edited.")
    first_answer = page.locator(".exchange").nth(1)
    first_answer.get_by_text("Edit", exact=True).click()
    expect(first_answer.get_by_label("Change the question")).to_be_focused()
    first_answer.get_by_label("Change the question").fill("Question 2, edited")
    first_answer.get_by_role("button", name="Send again").click()
    expect(page.locator(".bubble")).to_have_text(["Question 1", "Question 2, edited"])
    expect(page.locator("article.answer").nth(1)).to_contain_text("Answer 2, edited.")
    expect(page.locator(".version-count")).to_have_text("2/2")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "versions-branch.png", caret="initial")

    model.configure(answer="Answer 4.")
    ask(page, "Question 4")
    sent = [m["content"] for m in model.requests[-1]["messages"][1:]]
    assert sent == ["Question 1", "Answer 1.", "Question 2, edited", "Answer 2, edited.", "Question 4"]

    page.get_by_role("link", name="Previous version").click()
    expect(page.locator(".bubble")).to_have_text(["Question 1", "Question 2", "Question 3"])
    expect(page.locator(".version-count")).to_have_text("1/2")
    model.configure(answer="Answer 5.")
    ask(page, "Question 5")
    sent = [m["content"] for m in model.requests[-1]["messages"][1:]]
    assert sent[-3:] == ["Question 3", "Answer 3.", "Question 5"]

    page.goto(server.url + "/list")
    expect(page.locator(".pill-version")).to_have_text(["version 2 of 2", "version 1 of 2"])
