"""What one chat turn costs the server besides the model: no worker threads, nothing fetched twice."""

from __future__ import annotations

import re

from quart import Quart

from tests.conftest import Visitor

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')


async def test_a_chat_turn_hands_no_work_to_worker_threads(app: Quart, visitor: Visitor, monkeypatch):
    handed: list[str] = []
    wrap = app.sync_to_async

    def counted(func):  # type: ignore[no-untyped-def]
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
