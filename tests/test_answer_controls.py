"""Stop, regenerate, edit, retry, and picking a running answer back up."""

from __future__ import annotations

import asyncio
import re

from app.storage import conversations, exchanges
from app.storage.dialects import utc_in
from app.storage.status import FINISHED
from tests.conftest import Visitor, parse_events
from tests.waiting import PATIENCE, until

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


async def ask(visitor: Visitor, question: str, conversation_id: int | str = "") -> int:
    response = await visitor.ask(question, conversation_id)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))


async def row(db, exchange_id: int) -> dict:
    return await db.fetch_one("SELECT * FROM exchanges WHERE id = :id", {"id": exchange_id})


async def settled(db, exchange_id: int) -> dict:
    async def finished() -> dict | None:
        found = await row(db, exchange_id)
        return found if found["status"] in FINISHED else None

    return await until(finished, f"exchange {exchange_id} finished")


async def streaming(db, exchange_id: int) -> None:
    """Wait until the answer is being written (claimed by a stream, not yet ended)."""

    async def claimed() -> bool:
        return await exchanges.status(db, exchange_id) == "streaming"

    await until(claimed, f"exchange {exchange_id} streaming")


async def read_until(connection, marker: bytes, count: int) -> bytes:
    received = b""
    while received.count(marker) < count:
        received += await connection.receive()
    return received


async def test_stop_keeps_the_partial_answer_and_cancels_the_model(visitor, model, client, db):
    model.configure(tokens=300, delay=0.02)
    exchange_id = await ask(visitor, "talk for a long time")
    async with client.request(f"/answers/{exchange_id}/stream") as connection:
        await connection.send_complete()
        await read_until(connection, b"event: delta", 3)
        stop = await client.post(
            f"/answers/{exchange_id}/stop", headers={"HX-Request": "true", "X-CSRF-Token": visitor.csrf}
        )
        assert stop.status_code == 204
        received = await read_until(connection, b"event: done", 1)
    events = parse_events(received.decode())
    assert "Stopped." in dict(events)["final"]
    row = await settled(db, exchange_id)
    assert row["status"] == "stopped"
    assert row["answer"].startswith("w0 w1 ") and len(row["answer"].split()) < 300
    # The model notices the closed connection at its next token: 20 ms, or the whole answer if never closed.
    await until(lambda: model.stats["responding"] == 0, "the model's stream ended")
    assert model.stats["streams_completed"] == 0


async def test_a_stop_asked_through_another_process_is_noticed_from_the_database(visitor, model, client, db):
    model.configure(tokens=400, delay=0.01)
    exchange_id = await ask(visitor, "long one")
    events = asyncio.create_task(visitor.stream(exchange_id))
    await streaming(db, exchange_id)
    # What the stop view does in a process that does not run the answer: flag it in the database.
    await exchanges.request_stop(db, exchange_id, "someone else")
    assert await exchanges.status(db, exchange_id) == "streaming"
    owner = (await db.fetch_one("SELECT owner FROM exchanges WHERE id = :id", {"id": exchange_id}))["owner"]
    await exchanges.request_stop(db, exchange_id, owner)
    row = await settled(db, exchange_id)
    assert row["status"] == "stopped" and 0 < len(row["answer"].split()) < 400
    assert "Stopped." in dict(await events)["final"]


async def test_stopping_an_answer_not_yet_started_ends_it_at_once(visitor, model, client, db):
    exchange_id = await ask(visitor, "never mind")
    stop = await client.post(f"/answers/{exchange_id}/stop", form={"csrf_token": visitor.csrf})
    assert stop.status_code == 303 and stop.headers["Location"] == f"/c/1#answer-{exchange_id}"
    events = await visitor.stream(exchange_id)
    assert [name for name, _ in events] == ["final", "done"]
    assert "Stopped." in events[0][1]
    assert model.requests == []


async def test_stop_without_javascript_waits_for_the_answer_to_settle_then_redirects(
    visitor, model, client, db
):
    model.configure(tokens=300, delay=0.02)
    exchange_id = await ask(visitor, "slow")
    stream = asyncio.create_task(visitor.stream(exchange_id))
    await streaming(db, exchange_id)
    stop = await client.post(f"/answers/{exchange_id}/stop", form={"csrf_token": visitor.csrf})
    assert stop.status_code == 303
    page = await (await client.get("/c/1")).get_data(as_text=True)
    assert "Stopped." in page and "sse-connect" not in page
    await stream


async def test_a_stranger_cannot_stop_an_answer(visitor, app, model, db):
    model.configure(tokens=20, delay=0.01)
    exchange_id = await ask(visitor, "mine")
    stranger = Visitor(app.test_client())
    await stranger.open()
    stop = await stranger.client.post(f"/answers/{exchange_id}/stop", form={"csrf_token": stranger.csrf})
    assert stop.status_code == 404
    await visitor.stream(exchange_id)
    assert (await settled(db, exchange_id))["status"] == "done"


async def test_a_second_stream_follows_a_running_answer_from_the_start(visitor, model, client, db):
    model.configure(tokens=40, delay=0.02)
    exchange_id = await ask(visitor, "share it")
    first = asyncio.create_task(visitor.stream(exchange_id))
    await streaming(db, exchange_id)
    second = await visitor.stream(exchange_id)
    streamed = "".join(data for name, data in second if name == "delta")
    assert streamed.split() == [f"w{n}" for n in range(40)]
    assert [name for name, _ in second][-2:] == ["final", "done"]
    await first
    assert len(model.requests) == 1


async def test_a_reconnecting_browser_gets_only_the_text_it_missed(visitor, model, client, db):
    model.configure(tokens=40, delay=0.02)
    exchange_id = await ask(visitor, "reconnect")
    async with client.request(f"/answers/{exchange_id}/stream") as connection:
        await connection.send_complete()
        received = await read_until(connection, b"event: delta", 3)
        await connection.disconnect()
    seen = parse_events(received.decode().rsplit("\n\n", 1)[0] + "\n\n")
    text = "".join(data for name, data in seen if name == "delta")
    last_id = re.findall(r"^id: (\d+)$", received.decode(), re.M)[-1]
    assert int(last_id) == len(text)
    response = await client.get(f"/answers/{exchange_id}/stream", headers={"Last-Event-ID": last_id})
    rest = "".join(
        data for name, data in parse_events(await response.get_data(as_text=True)) if name == "delta"
    )
    assert (text + rest).split() == [f"w{n}" for n in range(40)]


async def test_a_reload_mid_answer_shows_the_text_so_far_and_streams_the_rest(visitor, model, client, db):
    # The model holds after 20 words until released: what the run saved by then is what a reload shows.
    model.configure(tokens=60, delay=0.01, pauses=[20])
    exchange_id = await ask(visitor, "reload me")
    stream = asyncio.create_task(visitor.stream(exchange_id))

    async def words_before_the_pause_saved() -> str | None:
        answer = (await row(db, exchange_id))["answer"] or ""
        return answer if len(answer.split()) == 20 else None

    so_far = await until(words_before_the_pause_saved, "the words before the pause saved")
    page = await (await client.get("/c/1")).get_data(as_text=True)
    assert f'sse-connect="/answers/{exchange_id}/stream?offset={len(so_far)}"' in page
    assert f'<p class="open-text">{so_far}</p>' in page
    model.release()
    response = await client.get(f"/answers/{exchange_id}/stream?offset={len(so_far)}")
    rest = "".join(
        data for name, data in parse_events(await response.get_data(as_text=True)) if name == "delta"
    )
    assert (so_far + rest).split() == [f"w{n}" for n in range(60)]
    await stream


async def test_an_answer_running_in_another_process_is_followed_from_the_database(app, db):
    conversation_id = await conversations.create(db, "me", "elsewhere")
    exchange_id = (await exchanges.create(db, conversation_id, "me", "question"))["id"]
    assert await exchanges.claim(db, exchange_id, "a-run", utc_in(60))
    answers = app.extensions["answers"]
    assert exchange_id not in answers.runs
    seen: list[tuple[str, int]] = []

    async def collect() -> None:
        async for piece in answers.following.follow(exchange_id, 0):
            seen.append(piece)

    following = asyncio.create_task(collect())
    await exchanges.renew(db, exchange_id, "a-run", utc_in(60), "Hello")
    await until(lambda: seen, "the saved text followed")
    await exchanges.finish(
        db, exchange_id, exchanges.Outcome(answer="Hello, world", status="done", model="m")
    )
    await asyncio.wait_for(following, PATIENCE)
    assert seen == [("Hello", 5), (", world", 12)]


def new_stream(body: str) -> int:
    return int(re.search(r'sse-connect="/answers/(\d+)/stream', body).group(1))


async def test_regenerate_answers_the_question_again_as_a_new_version(visitor, model, client, db):
    model.configure(answer="First answer.")
    exchange_id = await ask(visitor, "say something")
    await visitor.stream(exchange_id)
    model.configure(answer="Second answer.")
    response = await client.post(
        f"/answers/{exchange_id}/regenerate", headers={"HX-Request": "true", "X-CSRF-Token": visitor.csrf}
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    again = new_stream(body)
    assert again != exchange_id and "First answer." not in body
    events = await visitor.stream(again)
    assert (
        "Second answer." in dict(events)["final"]
        and '<span class="version-count">2/2</span>' in dict(events)["final"]
    )
    rows = await db.fetch_all("SELECT * FROM exchanges ORDER BY id")
    assert [row["answer"] for row in rows] == ["First answer.", "Second answer."]
    assert {row["question"] for row in rows} == {"say something"}


async def test_an_earlier_answer_can_be_asked_again_but_not_while_one_runs(visitor, model, client, db):
    first = await ask(visitor, "one")
    await visitor.stream(first)
    second = await ask(visitor, "two", 1)
    await visitor.stream(second)
    headers = {"HX-Request": "true", "X-CSRF-Token": visitor.csrf}
    # The model holds after two words until released: the new version is being written meanwhile.
    model.configure(tokens=5, pauses=[2])
    older = await client.post(f"/answers/{first}/regenerate", headers=headers)
    assert older.status_code == 200
    again = new_stream(await older.get_data(as_text=True))
    stream = asyncio.create_task(visitor.stream(again))
    await streaming(db, again)
    busy = await client.post(f"/answers/{second}/regenerate", headers=headers)
    assert busy.status_code == 409 and "still being written" in await busy.get_data(as_text=True)
    model.release()
    assert "w4" in dict(await stream)["final"]


async def test_edit_asks_the_edited_question_as_a_new_version(visitor, model, client, db):
    exchange_id = await ask(visitor, "waht is 2+2")
    await visitor.stream(exchange_id)
    headers = {"HX-Request": "true", "X-CSRF-Token": visitor.csrf}
    blank = await client.post(f"/answers/{exchange_id}/edit", form={"question": "  "}, headers=headers)
    assert blank.status_code == 422 and "Type a question first." in await blank.get_data(as_text=True)
    edited = await client.post(
        f"/answers/{exchange_id}/edit", form={"question": "what is 2+2"}, headers=headers
    )
    body = await edited.get_data(as_text=True)
    assert "what is 2+2" in body
    await visitor.stream(new_stream(body))
    assert model.requests[-1]["messages"][-1]["content"] == "what is 2+2"
    rows = await db.fetch_all("SELECT * FROM exchanges ORDER BY id")
    assert [(row["question"], row["status"]) for row in rows] == [
        ("waht is 2+2", "done"),
        ("what is 2+2", "done"),
    ]


async def test_retry_after_an_error_and_without_javascript(visitor, model, client, db):
    model.configure(status=500)
    exchange_id = await ask(visitor, "flaky")
    events = await visitor.stream(exchange_id)
    assert ">Retry</button>" in dict(events)["final"]
    model.configure(status=200, answer="Worked this time.")
    response = await client.post(f"/answers/{exchange_id}/regenerate", form={"csrf_token": visitor.csrf})
    retried = exchange_id + 1
    assert response.status_code == 303 and response.headers["Location"] == f"/c/1#exchange-{retried}"
    row = await settled(db, retried)
    assert row["status"] == "done" and row["answer"] == "Worked this time." and row["error"] is None
    assert (await settled(db, exchange_id))["status"] == "error"


async def test_controls_refuse_a_missing_csrf_token(visitor, model, client, db):
    exchange_id = await ask(visitor, "guarded")
    await visitor.stream(exchange_id)
    for action in ("stop", "regenerate", "edit"):
        response = await client.post(f"/answers/{exchange_id}/{action}", form={"question": "x"})
        assert response.status_code == 403
    assert (await settled(db, exchange_id))["question"] == "guarded"


async def test_an_answers_markdown_is_served_as_text_to_its_owner_only(visitor, model, app):
    model.configure(answer="# Title\n\n<b>bold</b> **and** `code`")
    exchange_id = await ask(visitor, "copy me")
    final = dict(await visitor.stream(exchange_id))["final"]
    assert f'href="/answers/{exchange_id}/markdown"' in final and ">Copy</a>" in final
    response = await visitor.client.get(f"/answers/{exchange_id}/markdown")
    assert response.content_type == "text/plain; charset=utf-8"
    assert await response.get_data(as_text=True) == "# Title\n\n<b>bold</b> **and** `code`"
    stranger = await app.test_client().get(f"/answers/{exchange_id}/markdown")
    assert stranger.status_code == 404
