"""What one chat turn costs the server besides the model: no worker threads, nothing fetched twice."""

from __future__ import annotations

import re

import pytest
from quart import Quart

from tests.conftest import Visitor

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


async def test_a_chat_turn_hands_no_work_to_worker_threads(app: Quart, visitor: Visitor, monkeypatch):
    handed: list[str] = []
    wrap = app.sync_to_async

    def counted(func):
        handed.append(getattr(func, "__qualname__", repr(func)))
        return wrap(func)

    monkeypatch.setattr(app, "sync_to_async", counted)
    page = await visitor.open()
    response = await visitor.ask("Which thread renders this?")
    body = await response.get_data(as_text=True)
    events = await visitor.stream(int(EXCHANGE_ID.search(body).group(1)))
    assert 'name="ask_key"' in page and 'name="ask_key"' in body
    assert [name for name, _ in events][-2:] == ["final", "done"]
    assert handed == []


def exchange_html(page: str, exchange_id: int) -> str:
    start = page.index(f'<div class="exchange" id="exchange-{exchange_id}">')
    return page[start : page.index("</article>", start)]


async def test_a_question_comes_back_as_its_conversation_page_shows_it(visitor: Visitor):
    for conversation in ("", 1):
        response = await visitor.ask("Is <this> the stored question?  ", conversation)
        body = await response.get_data(as_text=True)
        exchange_id = int(EXCHANGE_ID.search(body).group(1))
        page = await visitor.open("/c/1")
        assert exchange_html(body, exchange_id) == exchange_html(page, exchange_id)
        assert "Is &lt;this&gt; the stored question?</div>" in body
        await visitor.stream(exchange_id)  # answered before the next question is asked


async def test_a_new_conversation_comes_back_as_the_sidebar_lists_it(visitor: Visitor):
    body = await (await visitor.ask("Which chat is this?")).get_data(as_text=True)
    listed = await visitor.client.get("/conversations?current=1", headers={"HX-Request": "true"})
    item = re.search(
        r'<li class="conversation conversation-1 current" id="conversation-1">.*?</li>', body, re.DOTALL
    )
    assert item is not None and item.group(0) in await listed.get_data(as_text=True)


async def test_a_form_sent_twice_comes_back_the_same_and_is_stored_once(visitor: Visitor, db):
    key = re.search(r'name="ask_key" value="([^"]+)"', await visitor.open()).group(1)
    form = {"question": "Only once?", "conversation_id": "", "csrf_token": visitor.csrf, "ask_key": key}
    first, again = [
        await visitor.client.post("/ask", form=form, headers={"HX-Request": "true"}) for _ in range(2)
    ]
    bodies = [await response.get_data(as_text=True) for response in (first, again)]
    assert again.headers["HX-Push-Url"] == first.headers["HX-Push-Url"] == "/c/1"
    for body in bodies:
        assert 'id="conversation-1"' in body and ">Only once?</a>" in body
    assert exchange_html(bodies[0], 1) == exchange_html(bodies[1], 1)
    assert len(await db.fetch_all("SELECT id FROM exchanges")) == 1


def traced(db) -> list[str]:
    """The statements SQLite runs from now on."""
    if db.dialect != "sqlite":
        pytest.skip("counted with SQLite's statement trace")
    statements: list[str] = []

    def seen(sql: str) -> None:
        # Leaving out transaction control, and what triggers run (the search index).
        if not sql.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "--")):
            statements.append(" ".join(sql.split()))

    db._quick.set_trace_callback(seen)
    return statements


async def test_a_question_reads_the_persons_settings_once(visitor: Visitor, db):
    statements = traced(db)
    await visitor.ask("A new chat: which model, which instructions?")
    assert len([sql for sql in statements if "FROM preferences" in sql]) == 1


async def test_a_follow_up_reads_its_conversation_in_one_statement(visitor: Visitor, db):
    first = await visitor.ask("first")
    await visitor.stream(int(EXCHANGE_ID.search(await first.get_data(as_text=True)).group(1)))
    statements = traced(db)
    response = await visitor.client.post(
        "/ask",
        form={
            "question": "second",
            "conversation_id": "1",
            "after": "1",
            "newest": "1",
            "csrf_token": visitor.csrf,
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    # Touched first (holding the conversation), then read with its live answer and newest exchange.
    touched = next(n for n, sql in enumerate(statements) if sql.startswith("UPDATE conversations"))
    reads = [sql for sql in statements[touched:] if sql.startswith("SELECT") and "exchanges" in sql]
    assert len(reads) == 1
    assert len([sql for sql in statements[touched:] if "FROM conversations" in sql]) == 1


async def test_a_stream_reads_its_answer_once_before_starting_it(visitor: Visitor, db):
    response = await visitor.ask("How often is this answer read before it starts?")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    statements = traced(db)
    events = await visitor.stream(exchange_id)
    assert [name for name, _ in events][-2:] == ["final", "done"]
    claimed = next(n for n, sql in enumerate(statements) if sql.startswith("UPDATE exchanges SET status"))
    reads = [sql for sql in statements[:claimed] if "FROM exchanges e WHERE id" in sql and "owner" in sql]
    assert len(reads) == 1
