"""No answer is lost when the database goes away: retried, spooled to a file, replayed once it is back."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.messages import SPOOLED as NOTICE
from app.storage import DatabaseUnavailable, Spool, conversations, exchanges
from app.storage.exchanges import Outcome

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


async def pending_exchanges(db, count: int) -> list[int]:
    conversation_id = await conversations.create(db, "owner-1", "t")
    return [
        (await exchanges.create(db, conversation_id, "owner-1", f"question {n}"))["id"] for n in range(count)
    ]


async def answers(db) -> list[tuple[int, str | None, str]]:
    rows = await db.fetch_all("SELECT id, answer, status FROM exchanges ORDER BY id")
    return [(row["id"], row["answer"], row["status"]) for row in rows]


def record(exchange_id: int, answer: str) -> str:
    params = {
        "id": exchange_id,
        "answer": answer,
        "status": "done",
        "model": "m",
        "answered_at": "2026-01-02 03:04:05.000006",
    }
    return json.dumps(
        {"kind": "finish", "key": f"finish:{exchange_id}", "params": params}, ensure_ascii=False
    )


async def test_an_answer_ending_during_an_outage_is_shown_with_a_notice_and_stored_once_back(
    visitor, model, outage, spool, db, client
):
    model.configure(answer="Kept **safe**.", delay=0.1)
    response = await visitor.ask("Will this survive?")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    stream = asyncio.create_task(visitor.stream(exchange_id))
    while model.stats["streams_started"] == 0:
        await asyncio.sleep(0.01)
    outage.down = True
    final = dict(await stream)["final"]
    assert "Kept <strong>safe</strong>." in final and NOTICE in final

    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert await ready.get_json() | {"model": None} == {
        "status": "not ready",
        "database": "down",
        "engine": db.dialect,
        "spooled_writes": 1,
        "model": None,
    }

    outage.down = False
    assert await answers(db) == [(exchange_id, None, "streaming")]
    assert await spool.replay() == 1
    assert await answers(db) == [(exchange_id, "Kept **safe**.", "done")]
    assert await spool.replay() == 0
    assert (await (await client.get("/readyz")).get_json())["spooled_writes"] == 0
    assert "Kept <strong>safe</strong>." in await (await client.get("/c/1")).get_data(as_text=True)


async def test_a_question_sent_while_the_database_is_down_gets_a_503_and_keeps_the_draft(visitor, outage, db):
    outage.down = True
    response = await visitor.ask("my carefully typed question")
    assert response.status_code == 503
    assert response.headers["HX-Retarget"] == "#composer-error"
    assert "database is not answering" in await response.get_data(as_text=True)
    page = await (await visitor.ask("my carefully typed question", htmx=False)).get_data(as_text=True)
    assert ">my carefully typed question</textarea>" in page and "send it again in a moment" in page
    outage.down = False
    assert await answers(db) == []
    assert (await visitor.ask("my carefully typed question")).status_code == 200


async def test_a_short_outage_is_ridden_out_by_retrying_without_spooling(spool, outage, db):
    [exchange_id] = await pending_exchanges(db, 1)
    outage.down = True
    asyncio.get_running_loop().call_later(0.08, setattr, outage, "down", False)
    assert await spool.finish(exchange_id, Outcome(answer="on time", status="done", model="m"))
    assert await spool.count() == 0 and await answers(db) == [(exchange_id, "on time", "done")]


async def test_replaying_while_the_database_is_still_away_keeps_every_write(spool, outage, db):
    ids = await pending_exchanges(db, 2)
    outage.down = True
    for exchange_id in ids:
        assert not await spool.finish(
            exchange_id, Outcome(answer=f"a{exchange_id}", status="done", model="m")
        )
    assert await spool.count() == 2
    with pytest.raises(DatabaseUnavailable):
        await spool.replay()
    assert await spool.count() == 2
    outage.down = False
    assert await spool.replay() == 2
    assert await answers(db) == [(ids[0], f"a{ids[0]}", "done"), (ids[1], f"a{ids[1]}", "done")]


async def test_a_restarted_process_replays_what_a_crashed_replay_and_a_torn_append_left(app, db, tmp_path):
    ids = await pending_exchanges(db, 3)
    folder = tmp_path / "spool-of-a-dead-process"
    folder.mkdir()
    # A replay that died after applying the first record, then the same record and a torn append.
    (folder / "replaying.jsonl").write_text(record(ids[0], "first") + "\n" + record(ids[1], "second") + "\n")
    (folder / "pending.jsonl").write_text(record(ids[1], "second") + "\n" + record(ids[2], "third")[:25])
    await exchanges.finish(db, ids[0], Outcome(answer="first", status="done", model="m"))
    spool = Spool(folder, db)
    spool._append(record(ids[2], "third"))  # after the torn line, whole
    assert await spool.count() == 4
    assert await spool.replay() == 4
    assert await answers(db) == [
        (ids[0], "first", "done"),
        (ids[1], "second", "done"),
        (ids[2], "third", "done"),
    ]
    assert await spool.count() == 0 and not list(folder.glob("*.jsonl"))
    assert len(await db.fetch_all("SELECT id FROM exchanges")) == 3


async def test_a_write_the_database_refuses_is_set_aside_and_the_others_go_through(spool, db):
    [exchange_id] = await pending_exchanges(db, 1)
    spool._append(
        json.dumps({"kind": "finish", "key": "finish:x", "params": {"id": exchange_id, "colour": "red"}})
    )
    spool._append(record(exchange_id, "fine"))
    assert await spool.replay() == 2
    assert await answers(db) == [(exchange_id, "fine", "done")]
    assert "colour" in (spool.folder / "rejected.jsonl").read_text()
    assert await spool.count() == 0


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\r", "\x0b", "\x1c"])
async def test_a_spooled_answer_holding_a_line_separator_is_replayed_whole(spool, outage, db, separator):
    [exchange_id] = await pending_exchanges(db, 1)
    text = f"before{separator}after"
    outage.down = True
    assert not await spool.finish(exchange_id, Outcome(answer=text, status="done", model="m"))
    outage.down = False
    assert await spool.replay() == 1
    assert await answers(db) == [(exchange_id, text, "done")]


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(st.characters(codec="utf-8"), max_size=300))
async def test_the_spool_gives_back_every_string_it_was_given(tmp_path_factory, text):
    spool = Spool(tmp_path_factory.mktemp("spool"), db=None)  # type: ignore[arg-type]
    spool._append(record(1, text))
    spool._append(record(2, text[::-1]))
    records = list(spool._records(spool.pending))
    assert [r["params"]["answer"] for r in records] == [text, text[::-1]]
