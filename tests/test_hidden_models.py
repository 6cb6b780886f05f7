"""A model hidden after a chat used it is not called again: by Regenerate, Edit or a stored question."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from app.storage import exchanges
from tests.conftest import Visitor, parse_events

EXCHANGE = re.compile(r"/answers/(\d+)/stream")
GONE = "old-model, is no longer offered here"


async def asked(visitor: Visitor, question: str, model: str, conversation_id: int | str = "") -> int:
    response = await visitor.client.post(
        "/ask",
        form={"question": question, "conversation_id": str(conversation_id), "csrf_token": visitor.csrf}
        | {"model": model},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    return int(EXCHANGE.search(await response.get_data(as_text=True)).group(1))


def calls_to(fake, name: str) -> int:
    return sum(request.get("model") == name for request in fake.requests)


@pytest.mark.settings(llm_models=("fake-model", "old-model"))
async def test_a_model_hidden_after_use_is_refused_in_every_way_of_asking_again(app, client, model, db):
    here = urlsplit(model.url).netloc
    visitor = Visitor(client)
    await visitor.open("/")
    answered = await asked(visitor, "Old model, answer this.", f"old-model@{here}")
    await visitor.stream(answered)
    waiting = await asked(visitor, "Asked before it was hidden.", f"old-model@{here}")
    assert calls_to(model, "old-model") == 1
    # The operator hides the model (LLM_HIDDEN_MODELS) and restarts.
    app.extensions["answers"].catalog.hidden = frozenset({"old-model"})
    stored = await db.fetch_one("SELECT COUNT(*) AS n FROM exchanges")

    htmx = {"HX-Request": "true", "X-CSRF-Token": visitor.csrf}
    for path, form in (
        (f"/answers/{answered}/regenerate", {"model": ""}),
        (f"/answers/{answered}/edit", {"model": "", "question": "Edited for the old model"}),
    ):
        response = await client.post(path, form=form, headers=htmx)
        assert response.status_code == 422, path
        assert response.headers["HX-Retarget"] == "#composer-error"
        assert GONE in await response.get_data(as_text=True)
    # Without JavaScript: the conversation, the message under the composer.
    page = await client.post(f"/answers/{answered}/regenerate", form={"csrf_token": visitor.csrf})
    text = await page.get_data(as_text=True)
    assert page.status_code == 422 and GONE in text and "Old model, answer this." in text
    assert await db.fetch_one("SELECT COUNT(*) AS n FROM exchanges") == stored
    # A question stored for it before it was hidden ends with the same words, unasked.
    stream = await client.get(f"/answers/{waiting}/stream")
    assert GONE in dict(parse_events(await stream.get_data(as_text=True)))["final"]
    async with client.session_transaction() as session:
        row = await exchanges.get(db, waiting, session["owner"])
    assert row["status"] == "error"
    assert calls_to(model, "old-model") == 1
    # A follow-up without a model is answered by the model the composer offers.
    await visitor.stream(await asked(visitor, "And now?", "", conversation_id=row["conversation_id"]))
    assert calls_to(model, "old-model") == 1 and model.requests[-1]["model"] == "fake-model"
