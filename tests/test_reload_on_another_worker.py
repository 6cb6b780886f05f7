"""A reload that lands on another worker (or instance) continues the answer: no gap, no repeat.

Two apps share one database, as two Hypercorn workers or two instances do. The answer
runs in the first; the browser, having shown part of it, reconnects to the second with
the `Last-Event-ID` it last received. The fake model waits at set points (`pauses`),
so each step waits for what it needs and nothing races the clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator

import pytest
from quart import Quart

from app import create_app
from app.config import Config
from app.storage import Database
from tests.conftest import STARTUP_SECONDS, Visitor, parse_events
from tests.fake_llm import FakeLLM

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
WORDS = [f"w{n}" for n in range(40)]


@pytest.fixture
async def other(config: Config, app: Quart, tmp_path) -> AsyncIterator[Quart]:
    """A second app on the same database and secret key, with an instance folder of its own."""
    (tmp_path / "other").mkdir()
    second = create_app(dataclasses.replace(config, instance_path=tmp_path / "other"))
    async with second.test_app_class(second, startup_timeout=STARTUP_SECONDS):
        yield second


async def saved_words(db: Database, exchange_id: int, count: int) -> None:
    """Wait until the running answer has saved at least `count` words (about once a second)."""
    while True:
        found = await db.fetch_one("SELECT answer FROM exchanges WHERE id = :id", {"id": exchange_id})
        if found and len((found["answer"] or "").split()) >= count:
            return
        await asyncio.sleep(0.05)


async def read_events(connection, until: bytes) -> bytes:
    received = b""
    while until not in received:
        received += await connection.receive()
    return received


def deltas(received: bytes) -> tuple[str, list[int]]:
    """The text of the complete delta events received, and their ids."""
    complete = received.decode().rsplit("\n\n", 1)[0] + "\n\n"
    text = "".join(data for name, data in parse_events(complete) if name == "delta")
    return text, [int(n) for n in re.findall(r"^id: (\d+)$", complete, re.M)]


async def test_a_reload_on_the_other_worker_continues_the_answer(
    app: Quart, other: Quart, visitor: Visitor, model: FakeLLM, db: Database
):
    model.configure(tokens=len(WORDS), pauses=[10, 20])
    response = await visitor.ask("Which worker answers?")
    exchange_id = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    cookie = "; ".join(f"{c.name}={c.value}" for c in visitor.client.cookie_jar)

    # The first worker runs the answer; its browser shows the ten words the model has sent so far.
    async with visitor.client.request(f"/answers/{exchange_id}/stream") as first:
        await first.send_complete()
        received = b""
        while len(deltas(received)[0].split()) < 10:
            received += await first.receive()
        await first.disconnect()
    shown, ids = deltas(received)
    assert shown.split() == WORDS[:10] and ids[-1] == len(shown)

    # The model goes on to twenty words, saved by the first worker; the browser reconnects to the other.
    model.release()
    await saved_words(db, exchange_id, 20)
    async with other.test_client().request(
        f"/answers/{exchange_id}/stream", headers={"Cookie": cookie, "Last-Event-ID": str(ids[-1])}
    ) as second:
        await second.send_complete()
        received = await read_events(second, b"event: delta")
        model.release()
        received += await read_events(second, b"event: done")
    events = parse_events(received.decode())
    rest = "".join(data for name, data in events if name == "delta")
    assert (shown + rest).split() == WORDS
    assert rest.startswith("w10 ")  # where the browser left off: nothing repeated, nothing missed
    assert [name for name, _ in events][-2:] == ["final", "done"]
    assert " ".join(WORDS) in dict(events)["final"]
    assert len(model.requests) == 1
