"""Limits that cannot be walked around: every path to the model counts, slots are taken atomically."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest

from app import create_app
from app.config import Rate
from app.storage import conversations, exchanges
from app.storage.dialects import utc_in
from app.web.limits import client_key
from tests.conftest import Visitor

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


async def ask(visitor: Visitor, question: str, conversation_id: int | str = "") -> int:
    response = await visitor.ask(question, conversation_id)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))


async def test_regenerate_and_edit_count_against_the_ask_limit(visitor, app, config, client, model):
    app.config["ANSWERS"] = replace(config, ask_rate=Rate(2, 60))
    exchange_id = await ask(visitor, "first")
    await visitor.stream(exchange_id)
    headers = {"HX-Request": "true", "X-CSRF-Token": visitor.csrf}
    again = await client.post(f"/answers/{exchange_id}/regenerate", headers=headers)
    assert again.status_code == 200
    await visitor.stream(exchange_id)
    calls = len(model.requests)
    refused = [
        await client.post(f"/answers/{exchange_id}/regenerate", headers=headers),
        await client.post(f"/answers/{exchange_id}/edit", form={"question": "edited"}, headers=headers),
        await client.post(
            f"/answers/{exchange_id}/edit", form={"question": "no js", "csrf_token": visitor.csrf}
        ),
        await visitor.ask("and another"),
    ]
    assert [response.status_code for response in refused] == [429] * 4
    assert "faster than this app allows" in await refused[1].get_data(as_text=True)
    await asyncio.sleep(0.1)
    assert len(model.requests) == calls


@pytest.mark.settings(max_streams_per_client=2)
async def test_answers_started_at_once_never_pass_the_stream_cap(visitor, app, config, model, db):
    model.configure(tokens=40, delay=0.02)
    ids = [await ask(visitor, f"question {number}") for number in range(6)]
    results = await asyncio.gather(*(visitor.stream(exchange_id) for exchange_id in ids))
    answered = [events for events in results if any(name == "delta" for name, _ in events)]
    busy = [events for events in results if "Too many answers are streaming" in dict(events).get("final", "")]
    assert len(answered) == 2 and len(busy) == 4
    assert len(model.requests) == 2
    rows = await db.fetch_all("SELECT status FROM exchanges ORDER BY id")
    assert sorted(row["status"] for row in rows) == [
        "done",
        "done",
        "pending",
        "pending",
        "pending",
        "pending",
    ]


@pytest.mark.settings(max_streams_per_client=1)
async def test_windows_opening_one_pending_answer_at_once_follow_it_and_start_it_once(
    visitor, app, db, model, monkeypatch
):
    # Each window's stream would start the pending answer: while one claims it, the others follow.
    exchange_id = await ask(visitor, "opened in five windows at once")
    answering = app.extensions["answers"]
    owner = (await db.fetch_one("SELECT owner FROM exchanges WHERE id = :id", {"id": exchange_id}))["owner"]
    exchange = await exchanges.get(db, exchange_id, owner)
    claim, claiming = answering.claim, asyncio.Event()

    async def slow_claim(row):
        await claiming.wait()  # the first window's claim is still on its way to the database
        return await claim(row)

    monkeypatch.setattr(answering, "claim", slow_claim)
    first = asyncio.create_task(answering.start(exchange, "one-client"))
    await asyncio.sleep(0)
    others = await asyncio.gather(
        *(answering.start(exchange, "one-client") for _ in range(4)), return_exceptions=True
    )
    claiming.set()
    await first
    assert [other for other in others if isinstance(other, Exception)] == []
    await asyncio.gather(*(run.task for run in list(answering.runs.values()) if run.task))
    assert len(model.requests) == 1


async def test_followers_of_one_answer_are_bounded(visitor, app, model, client):
    model.configure(tokens=100, delay=0.02)
    exchange_id = await ask(visitor, "popular")
    watchers = [
        asyncio.create_task(visitor.stream(exchange_id))
        for _ in range(app.extensions["answers"].following.followers.limit + 3)
    ]
    results = await asyncio.gather(*watchers)
    refused = [
        events for events in results if "Too many windows follow this answer" in dict(events).get("final", "")
    ]
    assert len(refused) == 3
    assert all(events[-1][0] == "done" for events in results)


@pytest.mark.parametrize(
    ("peer", "same_as"),
    [
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2:ffff::9"),
        ("[2001:db8:1:2::1]", "2001:db8:1:2::1"),
        ("fe80::1%eth0", "fe80::2"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
    ],
)
def test_an_address_is_counted_as_its_network(peer, same_as):
    assert client_key(peer) == client_key(same_as)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:3::1"),
        ("203.0.113.5", "203.0.113.6"),
    ],
)
def test_different_networks_are_counted_apart(one, other):
    assert client_key(one) != client_key(other)


async def test_an_ipv6_client_cannot_rotate_through_its_prefix(config):
    app = create_app(replace(config, ask_rate=Rate(1, 60)))
    async with app.test_app():
        visitor = Visitor(app.test_client())
        await visitor.open()

        async def ask_from(address: str) -> int:
            response = await visitor.client.post(
                "/ask",
                form={"question": "q", "conversation_id": "", "csrf_token": visitor.csrf},
                headers={"HX-Request": "true"},
                scope_base={"client": (address, 5000)},
            )
            return response.status_code

        assert await ask_from("2001:db8:7:7::1") == 200
        assert await ask_from("2001:db8:7:7::2") == 429
        assert await ask_from("[2001:db8:7:7::3]") == 429
        assert await ask_from("2001:db8:7:8::1") == 200


@pytest.mark.settings(llm_timeout=0.3)
async def test_a_follower_of_an_answer_that_stopped_moving_gives_up(visitor, app, config, db):
    async with visitor.client.session_transaction() as session:
        owner = session["owner"]
    conversation_id = await conversations.create(db, owner, "orphaned")
    exchange_id = (await exchanges.create(db, conversation_id, owner, "asked of a process that died"))["id"]
    assert await exchanges.claim(db, exchange_id, "a-run", utc_in(60))
    await exchanges.renew(db, exchange_id, "a-run", utc_in(60), "The first words")
    events = await asyncio.wait_for(visitor.stream(exchange_id), 5)
    final = dict(events)["final"]
    assert "The first words" in final and "stopped arriving" in final and "sse-connect" not in final
    assert events[-1][0] == "done"
