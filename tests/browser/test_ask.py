"""A person asks on the real page in Chromium and finds the answer stored."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_question_streams_an_answer_in_pieces_and_lands_in_history(page, server, model):
    model.configure(
        answer="Streaming works: **" + " ".join(f"word{n}" for n in range(40)) + "** done.", delay=0.04
    )
    page.goto(server.url)
    question = page.get_by_label("Your question")
    question.fill("Does streaming work? 'single' \"double\" <script>alert(1)</script>")
    question.press("Enter")

    expect(page.locator(".msg.question .bubble")).to_have_text(
        "Does streaming work? 'single' \"double\" <script>alert(1)</script>"
    )
    expect(question).to_have_value("")
    answer = page.locator("article.answer")
    expect(answer.locator("strong")).to_contain_text("word39", timeout=15_000)
    expect(answer).not_to_have_class(re.compile(r"\blive\b"))
    assert page.evaluate("window.__deltas") >= 2
    expect(answer.locator(".answer-meta")).to_contain_text("fake-model")
    expect(page).to_have_url(re.compile(r"/c/\d+$"))

    page.reload()
    expect(page.locator("article.answer strong")).to_contain_text("word39")

    page.get_by_role("link", name="History").click()
    expect(page).to_have_url(re.compile(r"/list$"))
    row = page.locator("#history-rows tr").first
    expect(row.locator(".question")).to_contain_text("<script>alert(1)</script>")
    expect(row.locator(".answer")).to_contain_text("Streaming works:")


def test_shift_enter_makes_a_new_line_and_a_blank_question_is_refused_inline(page, server, problems):
    problems.allow("status of 422")
    page.goto(server.url)
    question = page.get_by_label("Your question")
    question.fill("   ")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#composer-error")).to_have_text("Type a question first.")
    question.fill("line one")
    question.press("Shift+Enter")
    question.press_sequentially("line two")
    expect(question).to_have_value("line one\nline two")
    expect(page.locator(".exchange")).to_have_count(0)


def test_a_failing_model_shows_an_error_in_the_answer_bubble(page, server):
    page.goto(server.url)
    question = page.get_by_label("Your question")
    question.fill('please fail [[fake:{"status": 500}]]')
    question.press("Enter")
    expect(page.locator("article.answer .answer-error")).to_contain_text("The model server failed (500)")
