"""`make bench-followers`: what a stream costs when its answer is written by another worker.

Two instances on one SQLite database (as two workers, or two machines, share it): each
visitor asks on the first and reads the answer there, and a second window of theirs
follows the same answer from the second, whose streams read it from the database. Prints
the database reads per second per follower, how busy they keep the database, and the
second instance's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import loadgen
from bench.burst import warm
from bench.figures import Figure, report
from bench.processes import App, FakeModel, cpu_seconds

READS = re.compile(rb"^answers_watching_reads_total ([0-9.e+]+)$", re.MULTILINE)
# The answers last this long, so that every follower is watching at once for most of it.
TOKENS, DELAY = 400, 0.05


def reads(url: str) -> float:
    """The instance's shared reads of answers written elsewhere, so far (its metrics)."""
    with urllib.request.urlopen(url + "/metrics") as response:
        return float(READS.search(response.read()).group(1))


async def visitors(asking: App, following: App, count: int) -> list[tuple[float, float, int]]:
    """Each visitor asks on one instance and follows from the other: (start, end, deltas) of each follower."""

    async def visit(number: int) -> tuple[float, float, int]:
        visitor = loadgen.Visitor("127.0.0.1", asking.port)
        await asyncio.sleep(number * 0.002)
        await visitor.open_page()
        answer_id = await visitor.ask("Follow me from the other one.")
        first = loadgen.Chat()
        own = asyncio.create_task(visitor.follow(answer_id, first, time.perf_counter()))
        while first.first_text is None and not own.done():
            await asyncio.sleep(0.05)
        window = loadgen.Visitor("127.0.0.1", following.port)
        window.cookie = visitor.cookie
        followed = loadgen.Chat()
        started = time.perf_counter()
        await window.follow(answer_id, followed, started)
        await own
        await asyncio.gather(visitor.connection.close(), window.connection.close())
        return started, started + (followed.done or 0.0), followed.deltas

    return list(await asyncio.gather(*(visit(n) for n in range(count))))


def seconds_per_read(database: Path, count: int) -> tuple[float, float]:
    """Seconds SQLite takes to read `count` answers in one statement, and one answer alone."""
    connection = sqlite3.connect(database)
    ids = [
        row[0] for row in connection.execute("SELECT id FROM exchanges ORDER BY id DESC LIMIT ?", (count,))
    ]
    listed = ", ".join("?" * len(ids))
    started = time.perf_counter()
    for _ in range(20):
        connection.execute(f"SELECT * FROM exchanges WHERE id IN ({listed})", ids).fetchall()
    shared = (time.perf_counter() - started) / 20
    started = time.perf_counter()
    for exchange_id in ids:
        connection.execute("SELECT * FROM exchanges WHERE id = ?", (exchange_id,)).fetchall()
    alone = (time.perf_counter() - started) / len(ids)
    connection.close()
    return shared, alone


def run(model: FakeModel, work: Path, quick: bool = False) -> list[Figure]:
    figures: list[Figure] = []
    count = 100 if quick else 1000
    folder = work / "followers"
    shared = {
        "DATABASE_URL": f"sqlite:///{folder / 'answers.db'}",
        "SECRET_KEY": "one-key-for-both-instances",
    }
    with (
        App(model.url, folder / "a", **shared) as asking,
        App(model.url, folder / "b", **shared) as following,
    ):
        warm(asking.port, model)
        model.configure(tokens=TOKENS, delay=DELAY)
        before_reads, before_cpu, started = (
            reads(following.url),
            cpu_seconds(following.pid),
            time.perf_counter(),
        )
        spans = asyncio.run(visitors(asking, following, count))
        wall = time.perf_counter() - started
        made = reads(following.url) - before_reads
        cpu = cpu_seconds(following.pid) - before_cpu
    # The reads per second over the time every follower was watching (all of them at once).
    watching = sum(end - start for start, end, _ in spans if end > start)
    per_follower = made / watching
    shared_read, one_read = seconds_per_read(folder / "answers.db", min(count, 500))
    busy = made / wall * shared_read
    report(
        figures,
        Figure(
            f"{count} cross-worker followers: database reads per second per follower",
            per_follower,
            "reads/s",
            2.0,
            "one read per stream every 0.5 s",
            "say it",
            True,
        ),
    )
    report(
        figures,
        Figure(
            f"{count} cross-worker followers: database busy",
            busy * 100,
            "%",
            2.0 * count * one_read * 100,
            "one read per stream every 0.5 s",
            "<= 50 %",
            busy <= 0.5,
        ),
    )
    report(
        figures,
        Figure(
            f"{count} cross-worker followers: the following worker's CPU per follower-second",
            cpu / watching * 1000,
            "ms",
        ),
    )
    report(
        figures,
        Figure(
            f"{count} cross-worker followers: completed",
            sum(1 for start, end, _ in spans if end > start),
            "followers",
            goal=f"all {count}",
            met=all(end > start for start, end, _ in spans),
        ),
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller loads, for a smoke test")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="answers-followers-"))
    with FakeModel(work / "model.log") as model:
        run(model, work, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
