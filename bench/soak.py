"""Soak: 200 concurrent chats for SOAK_SECONDS on the app under Hypercorn, the fake model in its own process.

Prints: soak chats / errors / lost rows (0), and the app's RSS before and after.
Exits 1 on any error or lost row. Traffic goes only to 127.0.0.1.
Settings: SOAK_SECONDS (60), SOAK_CHATS (200).
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

from tests.browser.conftest import ROOT, AppServer, free_port

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
STREAM_TIMEOUT = 30.0


@dataclass
class Tally:
    """What the chats saw."""

    chats: int = 0
    ready: int = 0
    errors: list[str] = field(default_factory=list)
    answered: set[int] = field(default_factory=set)


def rss_kib(pid: int) -> int:
    """Resident memory of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def chat(url: str, start: asyncio.Event, seconds: float, tally: Tally, max_rounds: int) -> None:
    """One browser: open the page, then (once every browser has) ask and read answers for `seconds`."""
    async with httpx2.AsyncClient(base_url=url, timeout=STREAM_TIMEOUT) as client:
        page = await client.get("/")
        token = CSRF.search(page.text).group(1)
        conversation = ""
        tally.ready += 1
        await start.wait()
        deadline = time.monotonic() + seconds
        for round_ in range(max_rounds):
            if time.monotonic() >= deadline:
                return
            response = await client.post(
                "/ask",
                data={
                    "question": f"soak question {round_}",
                    "conversation_id": conversation,
                    "csrf_token": token,
                },
                headers={"HX-Request": "true"},
            )
            if response.status_code != 200:
                tally.errors.append(f"ask {response.status_code}")
                continue
            conversation = conversation or response.headers["HX-Push-Url"].rsplit("/", 1)[1]
            exchange = int(EXCHANGE_ID.search(response.text).group(1))
            async with client.stream("GET", f"/answers/{exchange}/stream") as stream:
                body = (await stream.aread()).decode()
            if stream.status_code != 200 or "event: done" not in body or "answer-error" in body:
                tally.errors.append(f"stream {stream.status_code}")
                continue
            tally.chats += 1
            tally.answered.add(exchange)


async def soak(url: str, chats: int, seconds: float) -> Tally:
    tally = Tally()
    start = asyncio.Event()
    # Bounded: no chat can ask more than it could in the time at one answer per 50 ms.
    rounds = int(seconds / 0.05) + 1
    browsers = [asyncio.create_task(chat(url, start, seconds, tally, rounds)) for _ in range(chats)]
    while tally.ready < chats and not any(task.done() for task in browsers):
        await asyncio.sleep(0.05)
    start.set()
    await asyncio.gather(*browsers)
    return tally


def lost_rows(database: Path, answered: set[int]) -> int:
    """Answers the chats received that are not stored complete."""
    with sqlite3.connect(database) as db:
        stored = {
            row[0] for row in db.execute("SELECT id FROM exchanges WHERE status = 'done' AND answer <> ''")
        }
    return len(answered - stored)


def main() -> int:
    seconds = float(os.environ.get("SOAK_SECONDS", "60"))
    chats = int(os.environ.get("SOAK_CHATS", "200"))
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        instance = Path(folder)
        port = free_port()
        fake = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fake_llm",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--tokens",
                "20",
                "--delay",
                "0.02",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = None
        try:
            time.sleep(0.5)
            server = AppServer(
                instance,
                f"http://127.0.0.1:{port}/v1",
                ASK_RATE_LIMIT="1000000/minute",
                MAX_STREAMS_PER_CLIENT="100000",
                LLM_TIMEOUT="30",
            )
            asyncio.run(soak(server.url, 1, 0.5))
            before = rss_kib(server.process.pid)
            tally = asyncio.run(soak(server.url, chats, seconds))
            after = rss_kib(server.process.pid)
        finally:
            if server is not None:
                server.stop()
            fake.terminate()
            fake.wait(timeout=10)
        lost = lost_rows(instance / "answers.db", tally.answered)
    print(
        f"soak: {chats} concurrent for {seconds:g} s: chats {tally.chats} / errors {len(tally.errors)} / "
        f"lost rows {lost} (0); RSS before {before / 1024:.1f} MiB, after {after / 1024:.1f} MiB "
        f"({after / max(before, 1):.2f}x)"
    )
    if tally.errors:
        print("first errors:", ", ".join(tally.errors[:10]))
    return 1 if tally.errors or lost else 0


if __name__ == "__main__":
    sys.exit(main())
