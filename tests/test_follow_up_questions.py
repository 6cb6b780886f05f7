"""A follow-up asked while the conversation's last answer is still being written never loses that answer."""

from __future__ import annotations

import asyncio
import re

from app import messages
from tests.conftest import Visitor
from tests.waiting import until

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
SLOW = dict(answer="The first answer, written slowly.", delay=0.05)


async def asked_id(response) -> int:
    body = await response.get_data(as_text=True)
    assert response.status_code == 200, body
    return int(EXCHANGE_ID.search(body).group(1))


async def questions(db) -> list[str]:
    return [row["question"] for row in await db.fetch_all("SELECT question FROM exchanges ORDER BY id")]


async def test_a_follow_up_sent_while_the_answer_streams_is_refused_in_the_composer(visitor, model, db):
    model.configure(**SLOW)
    first = await asked_id(await visitor.ask("first question"))
    streaming = asyncio.create_task(visitor.stream(first))
    await until(lambda: model.stats["streams_started"], "the first answer streaming")

    refused = await visitor.ask("second question", 1)

    assert refused.status_code == 409
    assert refused.headers["HX-Retarget"] == "#composer-error"
    assert messages.ANSWER_STILL_RUNNING in await refused.get_data(as_text=True)
    assert await questions(db) == ["first question"]
    await streaming
    second = await asked_id(await visitor.ask("second question", 1))
    await visitor.stream(second)
    sent = [m["content"] for m in model.requests[-1]["messages"][1:]]
    assert sent == ["first question", "The first answer, written slowly.", "second question"]


async def test_a_follow_up_to_a_question_not_yet_answered_is_refused(visitor, model, db):
    await asked_id(await visitor.ask("first question"))
    refused = await visitor.ask("second question", 1)
    assert refused.status_code == 409
    assert await questions(db) == ["first question"]


async def test_follow_ups_sent_at_once_store_one_question(visitor, model, db):
    model.configure(**SLOW)
    first = await asked_id(await visitor.ask("first question"))
    await visitor.stream(first)
    sent = await asyncio.gather(*(visitor.ask(f"follow-up {n}", 1) for n in range(4)))
    assert sorted(response.status_code for response in sent) == [200, 409, 409, 409]
    assert len(await questions(db)) == 2


async def test_without_javascript_the_refused_follow_up_stays_in_the_composer(visitor, model, client):
    model.configure(**SLOW)
    first = await asked_id(await visitor.ask("first question"))
    streaming = asyncio.create_task(visitor.stream(first))
    await until(lambda: model.stats["streams_started"], "the first answer streaming")
    refused = await Visitor.ask(visitor, "my follow-up, kept", 1, htmx=False)
    page = await refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert messages.ANSWER_STILL_RUNNING in page
    assert ">my follow-up, kept</textarea>" in page
    await streaming


async def test_another_conversation_can_be_asked_in_meanwhile(visitor, model, db):
    model.configure(**SLOW)
    first = await asked_id(await visitor.ask("first question"))
    streaming = asyncio.create_task(visitor.stream(first))
    other = await visitor.ask("a question in a new chat")
    assert other.status_code == 200
    await streaming
