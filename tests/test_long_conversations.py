"""A long conversation opens at its newest exchanges; older ones load on demand with or without JavaScript."""

from __future__ import annotations

import re

from app.storage import conversations, exchanges
from app.views.chat import EXCHANGES_PER_PAGE

EXCHANGE = re.compile(r'id="exchange-(\d+)"')
EARLIER = re.compile(r'href="(/c/\d+\?before=\d+)')


async def long_conversation(db, owner: str, count: int) -> tuple[int, list[int]]:
    conversation_id = await conversations.create(db, owner, "a long chat")
    ids = []
    for number in range(count):
        exchange_id = (await exchanges.create(db, conversation_id, owner, f"question {number}"))["id"]
        outcome = exchanges.Outcome(answer=f"answer {number} " + "text " * 200, status="done", model="m")
        await exchanges.finish(db, exchange_id, outcome)
        ids.append(exchange_id)
    return conversation_id, ids


async def owner_of(visitor) -> str:
    async with visitor.client.session_transaction() as session:
        return session["owner"]


async def test_a_long_conversation_shows_its_newest_exchanges_first(visitor, db):
    conversation_id, ids = await long_conversation(db, await owner_of(visitor), EXCHANGES_PER_PAGE * 2 + 5)
    page = await visitor.open(f"/c/{conversation_id}")
    shown = [int(found) for found in EXCHANGE.findall(page)]
    assert shown == ids[-EXCHANGES_PER_PAGE:]
    assert "Show earlier messages" in page


async def test_earlier_exchanges_arrive_as_a_fragment_for_htmx(visitor, db):
    conversation_id, ids = await long_conversation(db, await owner_of(visitor), EXCHANGES_PER_PAGE + 3)
    page = await visitor.open(f"/c/{conversation_id}")
    earlier = EARLIER.search(page).group(1)
    response = await visitor.client.get(earlier, headers={"HX-Request": "true"})
    fragment = await response.get_data(as_text=True)
    assert "<html" not in fragment
    assert [int(found) for found in EXCHANGE.findall(fragment)] == ids[:3]
    assert "Show earlier messages" not in fragment


async def test_without_javascript_earlier_exchanges_are_a_page_of_their_own(visitor, db):
    conversation_id, ids = await long_conversation(db, await owner_of(visitor), EXCHANGES_PER_PAGE * 2 + 1)
    page = await visitor.open(f"/c/{conversation_id}")
    older = await visitor.open(EARLIER.search(page).group(1))
    assert [int(found) for found in EXCHANGE.findall(older)] == ids[1 : EXCHANGES_PER_PAGE + 1]
    assert "Show earlier messages" in older and f'href="/c/{conversation_id}"' in older


async def test_a_stranger_cannot_page_through_someone_elses_conversation(visitor, client, db):
    conversation_id, ids = await long_conversation(db, "someone else", 3)
    response = await client.get(f"/c/{conversation_id}?before={ids[-1]}", headers={"HX-Request": "true"})
    assert response.status_code == 404
