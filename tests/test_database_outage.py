"""MariaDB goes away mid-run while people chat, comes back, and nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import pytest

from app import create_app
from app.config import Rate
from tests.conftest import parse_events
from tests.waiting import PATIENCE, until

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
ASK_KEY = re.compile(r'name="ask_key" value="([^"]+)"')
CHATS = 12
QUESTIONS_EACH = 3


class Proxy:
    """A TCP proxy on 127.0.0.1 to the database; `cut()` drops every connection and refuses new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.up = True
        self._pipes: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def cut(self) -> None:
        self.up = False
        for writer in list(self._pipes):
            writer.transport.abort()

    def restore(self) -> None:
        self.up = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._pipes |= {writer, upstream_writer}
        try:
            await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        finally:
            self._pipes -= {writer, upstream_writer}
            for end in (writer, upstream_writer):
                end.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()


def through(url: str, port: int) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@127.0.0.1:{port}", query="connect_timeout=1"))


async def chat(app, person: int, asked: list[str], shown: list[str]) -> None:
    """One person asking questions in a row; like a person, retrying what the app refused."""
    client = app.test_client()
    page = ""
    while not (key := ASK_KEY.search(page)):
        page = await (await client.get("/")).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    key, conversation = key.group(1), ""
    for n in range(QUESTIONS_EACH):
        answer = f"answer-{person}-{n}"
        question = f"question {person}-{n} [[fake:{json.dumps({'answer': answer, 'delay': 0.3})}]]"
        form = {"question": question, "conversation_id": conversation, "csrf_token": csrf, "ask_key": key}
        # Sent again, with the same form, until the app takes it (the composer keeps it meanwhile):
        # the database is away (503), or the answer before is not yet stored, only spooled (409).
        while (
            response := await client.post("/ask", form=form, headers={"HX-Request": "true"})
        ).status_code != 200:
            assert response.status_code in (409, 503), await response.get_data(as_text=True)
            await asyncio.sleep(0.1)
        asked.append(question)
        body = await response.get_data(as_text=True)
        key = ASK_KEY.search(body).group(1)
        exchange_id = int(EXCHANGE_ID.search(body).group(1))
        conversation = re.search(r'name="conversation_id" value="(\d+)"', body).group(1)
        # A stream refused while the database is away is opened again, as a reload would (the
        # test bounds the whole run).
        while True:
            stream = await client.get(f"/answers/{exchange_id}/stream")
            events = (
                dict(parse_events(await stream.get_data(as_text=True))) if stream.status_code == 200 else {}
            )
            if answer in events.get("final", ""):
                shown.append(answer)
                break
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
async def test_mariadb_going_away_mid_run_loses_and_doubles_nothing(config, database_url, model, mysql):
    target = urlsplit(database_url)
    proxy = Proxy(target.hostname, target.port or 3306)
    port = await proxy.start()
    # Every simulated person shares one client address: lift the per-client caps.
    app = create_app(
        replace(
            config,
            database_url=through(database_url, port),
            max_streams_per_client=1000,
            ask_rate=Rate(10_000, 60),
        )
    )
    asked: list[str] = []
    shown: list[str] = []
    async with app.test_app():
        app.extensions["spool"].retry_for = 0.3
        chats = asyncio.gather(*(chat(app, person, asked, shown) for person in range(CHATS)))
        while model.stats["streams_started"] - model.stats["streams_completed"] < CHATS // 2:
            await asyncio.sleep(0.01)
        proxy.cut()
        spooled_at_peak = 0
        for _ in range(10):
            await asyncio.sleep(0.1)
            spooled_at_peak = max(spooled_at_peak, await app.extensions["spool"].count())
        proxy.restore()
        await asyncio.wait_for(chats, 2 * PATIENCE)

        async def replayed() -> bool:
            await app.extensions["spool"].replay()
            return await app.extensions["spool"].count() == 0

        await until(replayed, "every spooled write replayed", every=0.1)
    await proxy.stop()

    with mysql.connection.cursor() as cursor:
        cursor.execute("SELECT question, answer, status FROM exchanges")
        rows = cursor.fetchall()
    expected = {question: re.search(r'"answer": "([^"]+)"', question).group(1) for question in asked}
    stored = sum(
        1 for question, answer, status in rows if status == "done" and answer == expected.get(question)
    )
    duplicated = len(rows) - len({question for question, _, _ in rows})
    lost = len(expected) - stored
    print(
        f"\noutage: {len(asked)} exchanges asked, {len(rows)} rows, {stored} stored with their answers, "
        f"{lost} lost, {duplicated} duplicated; {len(shown)} answers shown, "
        f"{spooled_at_peak} writes spooled at peak"
    )
    assert len(asked) == CHATS * QUESTIONS_EACH
    assert (stored, lost, duplicated, len(rows)) == (len(asked), 0, 0, len(asked))
    assert spooled_at_peak > 0, "the outage should have caught some answers mid-stream"
