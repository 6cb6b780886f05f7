"""Every refusal of asking, Regenerate, Retry and Edit shows under the composer, the question kept."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from app import messages
from app.config import Rate
from tests.conftest import Visitor

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
COMPOSER_ERROR = re.compile(r'<p id="composer-error" class="composer-error" role="alert">(.*?)</p>', re.S)


async def answered(visitor: Visitor, question: str, conversation_id: int | str = "") -> int:
    response = await visitor.ask(question, conversation_id)
    assert response.status_code == 200, await response.get_data(as_text=True)
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    await visitor.stream(exchange_id)
    return exchange_id


async def again(visitor: Visitor, exchange_id: int, action: str, question: str | None = None, htmx=True):
    form = {"csrf_token": visitor.csrf, "model": ""}
    if question is not None:
        form["question"] = question
    headers = {"HX-Request": "true"} if htmx else {}
    return await visitor.client.post(f"/answers/{exchange_id}/{action}", form=form, headers=headers)


def under_the_composer(page: str) -> str:
    found = COMPOSER_ERROR.search(page)
    assert found, "the page has no composer"
    return found.group(1).strip()


async def assert_in_the_composer(response, status: int, words: str) -> None:
    """An htmx refusal: swapped into the line under the composer, nowhere else."""
    body = await response.get_data(as_text=True)
    assert response.status_code == status, body
    assert response.headers["HX-Retarget"] == "#composer-error"
    assert response.headers["HX-Reswap"] == "innerHTML"
    assert words in body


@pytest.mark.settings(tokens_per_day=50)
async def test_a_spent_days_tokens_refuses_asking_regenerating_and_editing_under_the_composer(visitor, model):
    exchange_id = await answered(visitor, "first")  # the fake model spends 42 tokens on it
    await answered(visitor, "second", 1)
    spent = "used today&#39;s 50 tokens"
    await assert_in_the_composer(await visitor.ask("third", 1), 429, spent)
    await assert_in_the_composer(await again(visitor, exchange_id, "regenerate"), 429, spent)
    await assert_in_the_composer(await again(visitor, exchange_id, "edit", "edited"), 429, spent)


@pytest.mark.settings(tokens_per_day=50)
async def test_without_javascript_a_spent_quota_shows_the_chat_with_the_message_and_the_draft(visitor, model):
    exchange_id = await answered(visitor, "first")
    await answered(visitor, "second", 1)
    refused = await visitor.ask("my third question, kept", 1, htmx=False)
    page = await refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "used today&#39;s 50 tokens" in under_the_composer(page)
    assert ">my third question, kept</textarea>" in page
    assert 'id="flash" class="flash" role="alert" aria-live="assertive"></div>' in page
    # The chat stays on screen: its exchanges are shown above the composer.
    assert f'id="answer-{exchange_id}"' in page

    edited = await again(visitor, exchange_id, "edit", "first, edited and kept", htmx=False)
    page = await edited.get_data(as_text=True)
    assert edited.status_code == 429 and "used today&#39;s 50 tokens" in under_the_composer(page)
    # The edited question waits in its open Edit box.
    assert re.search(r'<details class="edit" open>.*?>first, edited and kept</textarea>', page, re.S)

    retried = await again(visitor, exchange_id, "regenerate", htmx=False)
    page = await retried.get_data(as_text=True)
    assert retried.status_code == 429 and "used today&#39;s 50 tokens" in under_the_composer(page)
    assert f'id="answer-{exchange_id}"' in page


async def test_asking_too_fast_is_refused_under_the_composer(visitor, app, config):
    app.config["ANSWERS"] = replace(config, ask_rate=Rate(1, 60))
    exchange_id = await answered(visitor, "one")
    refused = await again(visitor, exchange_id, "regenerate")
    await assert_in_the_composer(refused, 429, "You are asking faster than this app allows")
    assert int(refused.headers["Retry-After"]) > 0
    page = await (await visitor.ask("kept without JavaScript", 1, htmx=False)).get_data(as_text=True)
    assert "asking faster" in under_the_composer(page) and ">kept without JavaScript</textarea>" in page


@pytest.mark.settings(llm_models=("alpha", "beta"))
async def test_a_model_no_longer_offered_is_refused_under_the_composer(visitor, model, app, config):
    exchange_id = await answered(visitor, "one")
    form = {"csrf_token": visitor.csrf, "model": "gamma@primary"}
    for path in (f"/answers/{exchange_id}/regenerate", f"/answers/{exchange_id}/edit"):
        refused = await visitor.client.post(
            path, form=form | {"question": "q"}, headers={"HX-Request": "true"}
        )
        await assert_in_the_composer(refused, 422, messages.MODEL_UNAVAILABLE)


async def test_regenerating_someone_elses_answer_is_refused_under_the_composer(visitor, app):
    exchange_id = await answered(visitor, "mine")
    stranger = Visitor(app.test_client())
    await stranger.open()
    await assert_in_the_composer(
        await again(stranger, exchange_id, "regenerate"), 404, messages.NOT_YOUR_ANSWER
    )


async def test_a_bad_form_token_on_asking_is_refused_under_the_composer(visitor):
    visitor.csrf = "not-the-token"
    refused = await visitor.ask("kept", htmx=True)
    await assert_in_the_composer(refused, 403, "Reload the page")


@pytest.mark.settings(max_body_bytes=2048)
async def test_a_body_over_the_limit_is_refused_under_the_composer(visitor):
    refused = await visitor.ask("x" * 4096)
    await assert_in_the_composer(refused, 413, "larger than the 2 KB")
    page = await (await visitor.ask("x" * 4096, htmx=False)).get_data(as_text=True)
    assert "larger than the 2 KB" in under_the_composer(page)


async def test_other_pages_still_report_errors_in_the_alert_area(visitor):
    response = await visitor.client.post(
        "/c/99/rename", form={"csrf_token": visitor.csrf, "title": "x"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 404 and response.headers["HX-Retarget"] == "#flash"
