"""Storage benchmark: inserts/s and completed chats/s at 50 concurrent chats, on SQLite and MariaDB.

Run with `make bench-storage`. The baseline, measured in the same run, is the raw driver
(aiosqlite / aiomysql) inserting the same rows; the figures for the storage interface and
for whole chats through the app (fake model in its own thread) are given against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiomysql
import aiosqlite

from app import create_app
from app.config import Config
from app.storage import conversations, exchanges, open_database
from tests.fake_llm import FakeLLM
from tests.mysql_server import NoServer, ScratchDatabase

CONCURRENCY = 50
INSERTS = 2000
CHATS = 300
EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
NOW = "'2026-01-01 00:00:00'"
CONVERSATION = (
    f"INSERT INTO conversations (id, owner, title, created_at, updated_at) VALUES (1, 'o', 't', {NOW}, {NOW})"
)
INSERT = (
    "INSERT INTO exchanges (conversation_id, owner, question, status, created_at)"
    f" VALUES (1, 'o', {{}}, 'pending', {NOW})"
)


async def concurrently(count: int, work) -> float:
    """Run `work(n)` for n in range(count), CONCURRENCY at a time; return the seconds taken."""
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            await work(n)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started


async def raw_inserts(url: str) -> float:
    """The baseline: the same inserts straight through the driver, one statement each."""
    if url.startswith("sqlite:///"):
        connection = await aiosqlite.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        await connection.execute(CONVERSATION)
        lock = asyncio.Lock()

        async def insert(n: int) -> None:
            async with lock:
                await connection.execute(INSERT.format("?"), (f"raw {n}",))

        seconds = await concurrently(INSERTS, insert)
        await connection.close()
        return INSERTS / seconds
    parts = urlsplit(url)
    pool = await aiomysql.create_pool(
        host=parts.hostname,
        port=parts.port,
        user=unquote(parts.username),
        password=unquote(parts.password),
        db=parts.path.lstrip("/"),
        minsize=1,
        maxsize=20,
        autocommit=True,
        charset="utf8mb4",
    )

    async def insert(n: int) -> None:
        async with pool.acquire() as connection, connection.cursor() as cursor:
            await cursor.execute(INSERT.format("%s"), (f"raw {n}",))

    async with pool.acquire() as connection, connection.cursor() as cursor:
        await cursor.execute(CONVERSATION)
    seconds = await concurrently(INSERTS, insert)
    pool.close()
    await pool.wait_closed()
    return INSERTS / seconds


async def interface_inserts(url: str) -> float:
    db = open_database(url)
    await db.open()
    conversation_id = await conversations.create(db, "o", "bench")

    async def insert(n: int) -> None:
        await exchanges.create(db, conversation_id, "o", f"through the interface {n}")

    seconds = await concurrently(INSERTS, insert)
    await db.close()
    return INSERTS / seconds


async def chats(url: str, model: FakeLLM, instance: Path) -> float:
    config = Config(
        openai_api_key="k",
        llm_base_url=model.url,
        llm_model="fake",
        database_url=url,
        secret_key="bench-secret-key-of-enough-length",
        instance_path=instance,
    )
    app = create_app(config)
    async with app.test_app():
        client = app.test_client()
        page = await (await client.get("/")).get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

        async def chat(n: int) -> None:
            response = await client.post(
                "/ask", form={"question": f"chat {n}", "csrf_token": csrf}, headers={"HX-Request": "true"}
            )
            exchange_id = EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1)
            events = await (await client.get(f"/answers/{exchange_id}/stream")).get_data(as_text=True)
            assert "event: done" in events

        seconds = await concurrently(CHATS, chat)
        done = (
            await app.extensions["db"].fetch_one("SELECT COUNT(*) AS n FROM exchanges WHERE status = 'done'")
        )["n"]
        assert done >= CHATS, done
    return CHATS / seconds


async def bench(name: str, url: str, model: FakeLLM, instance: Path, reset) -> None:
    reset()
    await chats(url, model, instance)  # migrates; its figures are discarded as warm-up
    reset()
    raw = await raw_inserts(url)
    reset()
    ours = await interface_inserts(url)
    reset()
    chat_rate = await chats(url, model, instance)
    print(
        f"{name:8} raw driver inserts/s {raw:8.0f} | storage interface inserts/s {ours:8.0f} "
        f"({ours / raw:.2f}x raw) | completed chats/s at {CONCURRENCY} concurrent {chat_rate:7.1f} "
        f"({chat_rate / raw:.3f}x raw inserts)"
    )


async def main() -> int:
    model = FakeLLM().start_in_thread()
    model.configure(answer="A short answer from the fake model, streamed word by word.", delay=0.005)
    print(f"{INSERTS} inserts and {CHATS} chats, {CONCURRENCY} at a time; fake model in its own thread")
    print("(an interface insert is a question: two statements, the insert and the conversation's updated_at)")
    try:
        with tempfile.TemporaryDirectory() as folder:
            instance = Path(folder)
            path = instance / "bench.db"

            def reset_sqlite() -> None:
                if path.exists():
                    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
                        connection.executescript(
                            "DELETE FROM exchanges; DELETE FROM conversations; DELETE FROM sqlite_sequence;"
                        )

            await bench("sqlite", f"sqlite:///{path}", model, instance, reset_sqlite)
            try:
                mysql = ScratchDatabase.provide("answers_bench")
            except NoServer as error:
                print(f"mysql    skipped: {error}")
                return 0
            try:
                await bench("mariadb", mysql.url + "?pool_size=20", model, instance, mysql.empty)
            finally:
                mysql.remove()
    finally:
        model.stop_thread()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
