"""A person picks another model in the composer and finds its answer stored with it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUTPUT

pytestmark = pytest.mark.browser


def test_a_second_model_answers_and_its_answer_is_stored_with_it(page, server, model):
    model.configure(
        models=["fake-model", "second-model"],
        answer_by_model={"second-model": "The **second** model answering."},
    )
    here = urlsplit(model.url).netloc
    page.goto(server.url)
    picker = page.get_by_label("Model", exact=True)
    expect(picker).to_have_value(f"fake-model@{here}")
    # One server: the picker names the models alone.
    picker.select_option(label="second-model")
    question = page.get_by_label("Your question")
    question.fill("Which model answers this?")
    question.press("Enter")

    answer = page.locator("article.answer")
    expect(answer.locator("strong")).to_have_text("second")
    expect(answer.locator(".answered-by")).to_have_text("second-model")
    expect(answer.locator(".answered-by")).to_have_attribute("title", f"second-model on {here}")
    expect(page).to_have_url(re.compile(r"/c/\d+$"))
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "model-picker.png")

    page.reload()
    expect(page.get_by_label("Model", exact=True)).to_have_value(f"second-model@{here}")
    expect(page.locator("article.answer .answered-by")).to_have_attribute("title", f"second-model on {here}")

    # Regenerate with the first model: the answer and its model are replaced.
    page.get_by_label("Model", exact=True).select_option(label="fake-model")
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator("article.answer")).to_contain_text("Hello! This is the fake model answering.")
    expect(page.locator("article.answer .answered-by")).to_have_attribute("title", f"fake-model on {here}")

    page.get_by_role("link", name="History").click()
    expect(page.locator("#history-rows tr").first.locator(".by-model")).to_have_text("fake-model")
    assert [request["model"] for request in model.requests[-2:]] == ["second-model", "fake-model"]
