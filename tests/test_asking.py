"""Asking through the app with the fake model: what a person sees and what is stored."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Visitor, parse_events
from tests.waiting import until

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


async def rows(db, table="exchanges"):
    return await db.fetch_all(f"SELECT * FROM {table} ORDER BY id")


async def ask_and_stream(visitor: Visitor, question: str, conversation_id: int | str = ""):
    response = await visitor.ask(question, conversation_id)
    assert response.status_code == 200, await response.get_data(as_text=True)
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    return exchange_id, await visitor.stream(exchange_id)


async def test_chat_page_shows_the_composer_and_the_model(visitor, client):
    page = await visitor.open()
    assert 'id="composer"' in page and 'hx-post="/ask"' in page
    assert "Model: </span>fake-model" in page
    assert visitor.csrf


async def test_question_is_stored_before_the_answer_and_fragments_come_back(visitor, db):
    response = await visitor.ask("What is 2 + 2?")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "What is 2 + 2?" in body
    assert 'sse-connect="/answers/1/stream"' in body
    assert 'id="conversation-id"' in body and 'hx-swap-oob="true"' in body
    assert "<html" not in body
    assert response.headers["HX-Push-Url"] == "/c/1"
    [row] = await rows(db)
    assert row["question"] == "What is 2 + 2?" and row["status"] == "pending" and row["answer"] is None


async def test_answer_streams_in_several_batches_then_final_html_then_done(visitor, model, db):
    model.configure(answer="The answer is **four**, of course.", delay=0.06)
    exchange_id, events = await ask_and_stream(visitor, "What is 2 + 2?")
    names = [name for name, _ in events]
    assert names.count("delta") >= 2
    assert names[-2:] == ["final", "done"]
    streamed = "".join(data for name, data in events if name == "delta")
    assert streamed == "The answer is **four**, of course."
    final = dict(events)["final"]
    assert "<strong>four</strong>" in final and "sse-connect" not in final
    [row] = await rows(db)
    assert row["answer"] == "The answer is **four**, of course."
    assert row["status"] == "done" and row["model"] == "fake-model"
    assert row["completion_tokens"] == 6 and row["prompt_tokens"] > 0
    assert row["latency_ms"] >= 5 * 60 * 0.9
    assert row["answered_at"] is not None


async def test_streamed_text_is_escaped(visitor, model):
    model.configure(answer="<img src=x onerror=alert(1)> & more")
    _, events = await ask_and_stream(visitor, "html please")
    streamed = "".join(data for name, data in events if name == "delta")
    assert streamed == "&lt;img src=x onerror=alert(1)&gt; &amp; more"
    assert "<img" not in dict(events)["final"]


async def test_earlier_exchanges_are_sent_as_context(visitor, model, app):
    model.configure(answer="first answer")
    await ask_and_stream(visitor, "first question")
    model.configure(answer="second answer")
    await ask_and_stream(visitor, "second question", 1)
    messages = model.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert [m["content"] for m in messages[1:]] == ["first question", "first answer", "second question"]
    assert messages[0]["content"] == app.config["ANSWERS"].system_prompt


@pytest.mark.settings(context_size=2)
async def test_context_is_limited_to_the_last_exchanges(visitor, model, app, config):
    for n in range(4):
        model.configure(answer=f"answer {n}")
        await ask_and_stream(visitor, f"question {n}", 1 if n else "")
    contents = [m["content"] for m in model.requests[-1]["messages"][1:]]
    assert contents == ["question 1", "answer 1", "question 2", "answer 2", "question 3"]


async def test_a_new_conversation_does_not_see_another_ones_context(visitor, model):
    await ask_and_stream(visitor, "in conversation one")
    await ask_and_stream(visitor, "in conversation two")
    assert [m["role"] for m in model.requests[-1]["messages"]] == ["system", "user"]


async def test_special_characters_are_stored_and_shown_verbatim(visitor, db, client):
    question = "Is it 'single' or \"double\"? <script>alert('x')</script> & done"
    await ask_and_stream(visitor, question)
    [row] = await rows(db)
    assert row["question"] == question
    page = await (await client.get("/c/1")).get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    history = await (await client.get("/list")).get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in history


async def test_empty_question_gets_an_inline_message_and_stores_nothing(visitor, db):
    for blank in ("", "   \n\t "):
        response = await visitor.ask(blank)
        assert response.status_code == 422
        assert response.headers["HX-Retarget"] == "#composer-error"
        assert "Type a question first." in await response.get_data(as_text=True)
    assert await rows(db) == [] and await rows(db, "conversations") == []


@pytest.mark.settings(max_question_chars=100)
async def test_too_long_question_gets_an_inline_message_and_stores_nothing(visitor, db, app, config):
    response = await visitor.ask("x" * 101)
    assert response.status_code == 422
    assert "101 characters long; the limit is 100" in await response.get_data(as_text=True)
    assert await rows(db) == []
    assert (await visitor.ask("x" * 100)).status_code == 200


@pytest.mark.settings(max_question_chars=10)
async def test_too_long_question_without_javascript_keeps_the_draft(visitor, app, config):
    response = await visitor.ask("a draft that is too long", htmx=False)
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert ">a draft that is too long</textarea>" in page and "the limit is 10" in page


async def test_model_failure_shows_an_error_bubble_and_stores_status_error(visitor, model, db):
    model.configure(status=500)
    _, events = await ask_and_stream(visitor, "will this fail?")
    final = dict(events)["final"]
    assert "The model server failed (500)" in final and 'class="answer-error"' in final
    [row] = await rows(db)
    assert row["status"] == "error" and "(500)" in row["error"] and row["question"] == "will this fail?"


async def test_model_dropping_mid_answer_keeps_the_partial_answer(visitor, model, db):
    model.configure(answer="one two three four five six", drop_after=3)
    _, events = await ask_and_stream(visitor, "drop please")
    assert "cut off" in dict(events)["final"]
    [row] = await rows(db)
    assert row["status"] == "error" and row["answer"] == "one two three "


@pytest.mark.settings(llm_base_url="http://127.0.0.1:9/v1")
async def test_unreachable_model_is_explained_without_the_operators_details(visitor, db, app, config, caplog):
    _, events = await ask_and_stream(visitor, "anyone there?")
    [message] = re.findall(r'<p class="answer-error">(.*?)</p>', dict(events)["final"], re.S)
    assert "Could not reach the model server" in message and "127.0.0.1" not in message
    assert (await rows(db))[0]["status"] == "error"
    # The address goes to the operator's log instead.
    assert any("http://127.0.0.1:9/v1" in record.getMessage() for record in caplog.records)


async def test_browser_leaving_mid_stream_does_not_cut_the_answer(visitor, model, client, db):
    model.configure(tokens=60, delay=0.01)
    response = await visitor.ask("a long answer please")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    async with client.request(f"/answers/{exchange_id}/stream") as connection:
        await connection.send_complete()
        received = b""
        while received.count(b"event: delta") < 3:
            received += await connection.receive()
        await connection.disconnect()

    async def ended() -> dict | None:
        [row] = await rows(db)
        return row if row["status"] != "streaming" else None

    row = await until(ended, "the answer ended")
    assert row["status"] == "done"
    assert row["answer"].split() == [f"w{n}" for n in range(60)]
    assert model.stats["streams_started"] == 1 and model.stats["streams_completed"] == 1


async def test_a_second_stream_of_the_same_answer_does_not_call_the_model_again(visitor, model):
    exchange_id, _ = await ask_and_stream(visitor, "once")
    events = await visitor.stream(exchange_id)
    assert [name for name, _ in events] == ["final", "done"]
    assert len(model.requests) == 1


async def test_without_javascript_an_answer_still_being_written_says_so(visitor, model):
    await visitor.ask("asked, not yet answered")
    page = await (await visitor.client.get("/c/1")).get_data(as_text=True)
    waiting = page[page.index("<noscript>") : page.index("</noscript>")]
    assert "being written" in waiting and "reload" in waiting


async def test_without_javascript_the_form_answers_in_full_and_redirects(visitor, model, db, client):
    model.configure(answer="A complete answer.")
    response = await visitor.ask("no js here", htmx=False)
    assert response.status_code == 303
    assert response.headers["Location"] == "/c/1#exchange-1"
    [row] = await rows(db)
    assert row["status"] == "done" and row["answer"] == "A complete answer."
    page = await (await client.get("/c/1")).get_data(as_text=True)
    assert "A complete answer." in page and "no js here" in page


async def test_missing_csrf_token_is_refused_and_stores_nothing(client, db):
    await client.get("/")
    response = await client.post("/ask", form={"question": "sneaky"})
    assert response.status_code == 403
    assert "Reload the page" in await response.get_data(as_text=True)
    assert await rows(db) == []


async def test_another_browser_cannot_see_or_extend_a_conversation(visitor, app, db):
    exchange_id, _ = await ask_and_stream(visitor, "private question")
    stranger = Visitor(app.test_client())
    await stranger.open()
    assert (await stranger.client.get("/c/1")).status_code == 404
    assert (await stranger.ask("butting in", 1)).status_code == 404
    stream = await stranger.client.get(
        f"/answers/{exchange_id}/stream", headers={"Accept": "text/event-stream"}
    )
    assert stream.status_code == 404 and "private question" not in await stream.get_data(as_text=True)
    history = await (await stranger.client.get("/list")).get_data(as_text=True)
    assert "private question" not in history
    assert len(await rows(db)) == 1


async def test_history_lists_newest_first(visitor, client):
    for n in range(3):
        await ask_and_stream(visitor, f"question number {n}")
    page = await (await client.get("/list")).get_data(as_text=True)
    positions = [page.index(f"question number {n}") for n in range(3)]
    assert positions == sorted(positions, reverse=True)
    assert "Hello! This is the fake model answering." in page


async def test_every_response_carries_the_security_headers(client):
    response = await client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_health_endpoints(client):
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and (await ready.get_json())["database"] == "up"


def test_event_parser_reads_multiline_data():
    assert parse_events("event: final\ndata: a\ndata: b\n\nevent: done\ndata: \n\n") == [
        ("final", "a\nb"),
        ("done", ""),
    ]
