"""`make bench-webhooks`: every event delivered through a hostile receiver and an instance killed mid-run.

Two `python -m app` instances share one database and send every event to a real local receiver
(aiohttp) that drops the connection, hangs past the timeout and answers 500 in turn (one request
in ten), and is down for 30 seconds; 200 chats are asked across both instances, and one instance
is killed (kill -9) mid-run. At the end it checks that every finished exchange's event reached
the receiver, signed, and that the duplicates (at least once) collapse to one per id, and prints
the counts: sent, retried, dead. `--engines sqlite,mysql` (the default) runs it on one SQLite
file, then on one scratch MariaDB/MySQL database (tests/mysql_server.py: TEST_MYSQL_URL, or the
local server's root over its socket); `--engines sqlite` or `--engines mysql` runs one.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import aiohttp
from aiohttp import web

from app.webhooks import signing
from bench.processes import App, FakeModel, free_port
from tests.mysql_server import ScratchDatabase, connect

CHATS = 200
AT_ONCE = 10
DOWN_SECONDS = 30.0
SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# The receiver's answers in turn, one request in ten failing: a dropped connection, a hang past
# the timeout, a 500.
TURNS = ("drop", *["ok"] * 9, "hang", *["ok"] * 9, "500", *["ok"] * 9)


class Receiver:
    """A webhook endpoint that fails in turn, and can be taken down and brought back on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.requests = 0
        self.taken: list[str] = []
        self.types: dict[str, str] = {}
        self.exchanges: dict[str, int] = {}
        self.bad_signatures = 0
        self.answered: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await self._site.start()

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        turn = TURNS[self.requests % len(TURNS)]
        self.requests += 1
        self.answered[turn] += 1
        if turn == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if turn == "hang":
            await asyncio.sleep(3600)
        if turn == "500":
            return web.Response(status=500)
        headers = {name.lower(): value for name, value in request.headers.items()}
        if not signing.verify(SECRET, headers, body):
            self.bad_signatures += 1
            return web.Response(status=401)
        event = json.loads(body)
        self.taken.append(headers["webhook-id"])
        self.types[headers["webhook-id"]] = event["type"]
        if event["type"] == "exchange.finished":
            self.exchanges[headers["webhook-id"]] = event["data"]["exchange_id"]
        return web.Response(status=204)


async def ask(http: aiohttp.ClientSession, url: str, number: int) -> bool:
    """One chat without JavaScript: the page, then the question, answered before the redirect."""
    async with http.get(f"{url}/") as page:
        token = CSRF.search(await page.text())
    assert token is not None
    form = {
        "question": f"Chat {number}: what is an outbox?",
        "conversation_id": "",
        "csrf_token": token.group(1),
    }
    async with http.post(f"{url}/ask", data=form, allow_redirects=False) as response:
        if response.status != 303:
            print(f"  chat {number}: {response.status} {(await response.text())[:200]!r}", flush=True)
        return response.status == 303


async def chats(instances: list[App], killed: App, kill_after: int) -> tuple[int, int]:
    """Ask CHATS chats across both instances, AT_ONCE at a time; kill one after `kill_after` started."""
    started = asked = failed = 0
    lock = asyncio.Lock()

    async def one(number: int) -> None:
        nonlocal asked, failed
        for attempt in range(3):
            alive = [app for app in instances if app.process.poll() is None]
            app = alive[(number + attempt) % len(alive)]
            try:
                # unsafe: the instances' cookies come from an IP address.
                jar = aiohttp.CookieJar(unsafe=True)
                async with aiohttp.ClientSession(
                    cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=60)
                ) as http:
                    if await ask(http, app.url, number):
                        asked += 1
                        return
            except (aiohttp.ClientError, TimeoutError, AssertionError):
                failed += 1
        raise RuntimeError(f"chat {number} was never answered")

    async def worker() -> None:
        nonlocal started
        while True:
            async with lock:
                if started >= CHATS:
                    return
                number = started
                started += 1
                if number == kill_after and killed.process.poll() is None:
                    os.kill(killed.pid, signal.SIGKILL)
                    killed.process.wait()
                    print(f"  killed instance b (kill -9) as chat {number} started", flush=True)
            await one(number)

    await asyncio.gather(*(worker() for _ in range(AT_ONCE)))
    return asked, failed


def rows(url: str, sql: str) -> list[tuple]:
    """The rows of one statement, read through the plain driver of the database a URL names."""
    if url.startswith("sqlite:///"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
            return db.execute(sql).fetchall()
    with closing(connect(url)) as db, db.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def outbox_counts(url: str) -> dict[str, int]:
    states = rows(url, "SELECT state, COUNT(*), SUM(attempts) FROM webhook_outbox GROUP BY state")
    unfinished = "status IN ('pending', 'streaming', 'stopping')"
    counts = {state: int(count) for state, count, _ in states}
    counts["attempts"] = sum(int(attempts or 0) for _, _, attempts in states)
    counts["finished"] = rows(url, f"SELECT COUNT(*) FROM exchanges WHERE NOT {unfinished}")[0][0]
    counts["unfinished"] = rows(url, f"SELECT COUNT(*) FROM exchanges WHERE {unfinished}")[0][0]
    return counts


def finished_ids(url: str) -> set[int]:
    return {
        row[0]
        for row in rows(
            url, "SELECT id FROM exchanges WHERE status NOT IN ('pending', 'streaming', 'stopping')"
        )
    }


@contextmanager
def database(engine: str, folder: Path) -> Iterator[str]:
    """The URL of the database both instances share: a SQLite file, or a scratch MySQL database."""
    if engine == "sqlite":
        yield f"sqlite:///{folder / 'answers.db'}"
        return
    scratch = ScratchDatabase.provide("answers_bench_webhooks")
    try:
        yield scratch.url
    finally:
        scratch.remove()


async def run(engine: str, wait: float) -> bool:
    """One run on one engine: the chats, the outage and the kill; print the counts, say if all arrived."""
    folder = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    with database(engine, folder) as url:
        return await _run(url, folder, wait)


async def _run(url: str, folder: Path, wait: float) -> bool:
    receiver = Receiver()
    await receiver.up()
    model = FakeModel(folder / "model.log")
    model.configure(tokens=40, delay=0.02)
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key-shared-by-both",
        "WEBHOOK_URLS": receiver.url,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_TIMEOUT": "1",
        "WEBHOOK_RETRY_SECONDS": "0.5",
        "WEBHOOK_RETRY_MAX_SECONDS": "5",
        "ANSWER_LEASE_SECONDS": "3",
        "LOG_LEVEL": "WARNING",
    }
    began = time.perf_counter()
    a = App(model.url, folder / "a", **env)
    b = App(model.url, folder / "b", **env)
    print(f"receiver {receiver.url}; instances {a.url} and {b.url} on {url.split('@')[-1]}", flush=True)
    try:

        async def outage() -> None:
            await asyncio.sleep(2)
            await receiver.down()
            print(f"  receiver down for {DOWN_SECONDS:g} s", flush=True)
            await asyncio.sleep(DOWN_SECONDS)
            await receiver.up()
            print("  receiver back", flush=True)

        down = asyncio.create_task(outage())
        asked, failed = await chats([a, b], b, CHATS // 2)
        print(
            f"  {asked} chats answered ({failed} asks failed with instance b and were asked again)",
            flush=True,
        )
        await down
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            counts = outbox_counts(url)
            if not counts.get("pending") and not counts["unfinished"]:
                break
            await asyncio.sleep(1)
        counts = outbox_counts(url)
        seconds = time.perf_counter() - began
    finally:
        a.stop()
        b.stop()
        model.stop()
        await receiver.down()
    finished = finished_ids(url)
    delivered = set(receiver.exchanges.values())
    unique = set(receiver.taken)
    duplicates = len(receiver.taken) - len(unique)
    missing = finished - delivered
    print(
        f"events: {counts.get('sent', 0)} sent, {counts['attempts'] - counts.get('sent', 0)} retried"
        f" (failed attempts), {counts.get('dead', 0)} dead, {counts.get('pending', 0)} still pending"
    )
    print(
        f"receiver: {receiver.requests} requests ({dict(receiver.answered)}), {len(receiver.taken)} taken,"
        f" {len(unique)} unique ids, {duplicates} delivered more than once (one each by webhook-id),"
        f" {receiver.bad_signatures} bad signatures"
    )
    print(
        f"exchanges: {len(finished)} finished, {len(delivered & finished)} with their event delivered,"
        f" {len(missing)} missing, {counts['unfinished']} left unfinished; {seconds:.0f} s in all"
    )
    ok = not missing and not counts.get("pending") and not counts.get("dead") and not receiver.bad_signatures
    ok = ok and len(unique) == len(receiver.exchanges) and not counts["unfinished"]
    print("every event delivered: " + ("yes" if ok else "NO"))
    return ok


async def main(args: argparse.Namespace) -> int:
    """Run on each engine asked for, in turn; fail if any run lost an event."""
    delivered = []
    for engine in args.engines.split(","):
        print(f"\n== {engine}  (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)", flush=True)
        delivered.append(await run(engine, args.wait))
    return 0 if all(delivered) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,mysql", help="sqlite, mysql, or both in turn")
    parser.add_argument("--wait", type=float, default=240, help="seconds to wait for the outbox to empty")
    sys.exit(asyncio.run(main(parser.parse_args())))
