"""Instructions (the operator's, a person's, a chat's), temperature within bounds, the settings page."""

from __future__ import annotations

import re

import pytest

from app.config import DEFAULT_SYSTEM_PROMPT
from app.storage import exchanges
from tests.conftest import Visitor


async def answered(visitor: Visitor, question: str, conversation_id: int | str = "") -> dict:
    response = await visitor.ask(question, conversation_id)
    exchange_id = int(re.search(r"/answers/(\d+)/stream", await response.get_data(as_text=True)).group(1))
    await visitor.stream(exchange_id)
    async with visitor.client.session_transaction() as session:
        return await exchanges.get(visitor.client.app.extensions["db"], exchange_id, session["owner"])


async def save_settings(visitor: Visitor, **fields: str):
    form = {"theme": "system", "instructions": "", "time_zone": "", "csrf_token": visitor.csrf} | fields
    return await visitor.client.post("/settings", form=form)


async def test_the_operator_prompt_stays_and_a_persons_own_instructions_follow_it(visitor, model):
    plain = await answered(visitor, "No instructions yet?")
    assert model.requests[-1]["messages"][0] == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}
    assert plain["instructions"] == DEFAULT_SYSTEM_PROMPT
    saved = await save_settings(visitor, instructions="Answer like a pirate.")
    assert saved.status_code == 303
    stored = await answered(visitor, "Now with mine?")
    sent = f"{DEFAULT_SYSTEM_PROMPT}\n\nAnswer like a pirate."
    assert model.requests[-1]["messages"][0] == {"role": "system", "content": sent}
    assert stored["instructions"] == sent and stored["temperature"] is None


@pytest.mark.settings(temperature_min=0.2, temperature_max=1.0)
async def test_a_chat_has_its_own_instructions_and_a_temperature_within_the_bounds(visitor, model):
    await save_settings(visitor, instructions="Be brief.")
    first = await answered(visitor, "A chat of its own?")
    chat = first["conversation_id"]
    page = await visitor.open(f"/c/{chat}/instructions")
    assert 'min="0.2" max="1.0"' in page
    refused = await visitor.client.post(
        f"/c/{chat}/instructions",
        form={"instructions": "Answer in French.", "temperature": "1.5", "csrf_token": visitor.csrf},
    )
    assert refused.status_code == 422
    body = await refused.get_data(as_text=True)
    assert (
        "from 0.2 to 1 (or empty" in body and "Answer in French.</textarea>" in body and 'value="1.5"' in body
    )
    saved = await visitor.client.post(
        f"/c/{chat}/instructions",
        form={"instructions": "Answer in French.", "temperature": "0.7", "csrf_token": visitor.csrf},
    )
    assert saved.status_code == 303 and saved.headers["Location"] == f"/c/{chat}"
    stored = await answered(visitor, "Et maintenant ?", chat)
    request = model.requests[-1]
    assert request["temperature"] == 0.7
    # The person's own instructions stay; the chat's follow them.
    assert request["messages"][0]["content"] == f"{DEFAULT_SYSTEM_PROMPT}\n\nBe brief.\n\nAnswer in French."
    assert (stored["instructions"], stored["temperature"]) == (request["messages"][0]["content"], 0.7)
    # Another chat keeps the person's own instructions and the server's temperature.
    other = await answered(visitor, "Another chat?")
    assert other["instructions"].endswith("Be brief.") and "temperature" not in model.requests[-1]


async def test_the_settings_page_works_without_javascript_and_sets_the_theme_without_inline_style(visitor):
    page = await visitor.open("/settings")
    assert 'name="theme" value="system" checked' in page and "data-theme" not in page
    assert await (await save_settings(visitor, theme="dark")).get_data() is not None
    page = await visitor.open("/settings")
    assert (
        '<html lang="en" data-theme="dark">' in page and '<meta name="color-scheme" content="dark">' in page
    )
    assert 'value="dark" checked' in page
    assert " style=" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    chat = await visitor.open("/")
    assert 'data-theme="dark"' in chat


async def test_a_bad_setting_is_said_plainly_and_loses_nothing(visitor, db):
    response = await save_settings(visitor, theme="purple", instructions="Keep this text.")
    assert response.status_code == 422
    body = await response.get_data(as_text=True)
    assert "Pick a theme" in body and "Keep this text.</textarea>" in body
    response = await save_settings(visitor, time_zone="Mars/Olympus", instructions="Keep this text.")
    assert response.status_code == 422 and "time zone" in await response.get_data(as_text=True)
    assert await db.fetch_one("SELECT COUNT(*) AS n FROM preferences") == {"n": 0}


async def test_times_show_in_the_chosen_time_zone(visitor):
    await answered(visitor, "What time is it?")
    assert " UTC</time>" in await visitor.open("/list")
    await save_settings(visitor, time_zone="Asia/Tokyo")
    page = await visitor.open("/list")
    assert " JST</time>" in page and " UTC</time>" not in page


async def test_the_default_model_of_new_chats_is_the_persons_own(client, model):
    model.configure(models=["fake-model", "second-model"])
    visitor = Visitor(client)
    await visitor.open("/")
    here = model.url.split("/")[2]
    await save_settings(visitor, model=f"second-model@{here}")
    assert f'<option value="second-model@{here}" selected>' in await visitor.open("/")
    await answered(visitor, "Which one for a new chat?")
    assert model.requests[-1]["model"] == "second-model"
    refused = await save_settings(visitor, model="hidden@nowhere")
    assert refused.status_code == 422
