"""`make profile`: where the app's CPU goes while many answers stream at once.

Starts the fake model and the app, samples the app with py-spy during N concurrent
chats (200-token answers over 5 s), and prints the share of samples per part of the
stack, innermost frame first: the evidence behind the figures of `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import loadgen
from bench.processes import App, FakeModel, cpu_seconds

PARTS = [
    (
        "reading the model's stream (aiohttp)",
        ("aiohttp/", "multidict/", "yarl/"),
    ),
    ("building the model request (openai SDK)", ("openai/",)),
    ("parsing the model's chunks (app/model/openai.py)", ("app/model/openai.py",)),
    (
        "SQLite (app/storage/sqlite.py, aiosqlite and its thread)",
        ("app/storage/sqlite.py", "sqlite3/", "aiosqlite/", "threading.py", "concurrent/futures"),
    ),
    ("HTTP to the browsers (Hypercorn, h11)", ("hypercorn/", "h11/")),
    ("request handling (Quart, Werkzeug)", ("quart/", "werkzeug/")),
    ("templates and markdown", ("jinja2", "markdown_it", "nh3", "pygments")),
    ("the answer loop and views (app/)", ("app/",)),
    ("the event loop itself (uvloop)", ("runners.py",)),
]


def breakdown(samples: Path) -> tuple[int, collections.Counter[str]]:
    """Share the samples among the parts, by the innermost frame that belongs to one."""
    parts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in samples.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue  # a blank or cut line at the end of the file
        total += int(count)
        part = "other"
        for frame in reversed(stack.split(";")):
            part = next((name for name, marks in PARTS if any(m in frame for m in marks)), "")
            if part:
                break
        parts[part or "other"] += int(count)
    return total, parts


def innermost(samples: Path, count: int = 12) -> list[tuple[str, float]]:
    """The functions the samples were in (their own time), largest share first."""
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in samples.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        total += int(number)
        own[stack.split(";")[-1]] += int(number)
    return [(frame, n / total * 100) for frame, n in own.most_common(count)]


class Spy:
    """py-spy sampling a process (only the thread holding the GIL) until the block ends."""

    def __init__(self, pid: int, samples: Path) -> None:
        self.samples = samples
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "-p",
                str(pid),
                "-f",
                "raw",
                "-o",
                str(samples),
                "-r",
                "250",
                # Only the thread holding the GIL: a thread blocked waiting is not working.
                "--gil",
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)

    def __enter__(self) -> Spy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.send_signal(2)
        self.process.wait(timeout=60)


def print_profile(title: str, samples: Path, per_request_ms: float) -> None:
    total, parts = breakdown(samples)
    print(f"\n{title}: app CPU {per_request_ms:.2f} ms each")
    for name, count in parts.most_common():
        print(f"{count / total * 100:5.1f}%  {name}")
    print("  innermost functions:")
    for frame, share in innermost(samples):
        print(f"  {share:5.1f}%  {frame}")


async def reconnect(visitors: list[loadgen.Visitor]) -> None:
    """New connections (the server closes those idle past its keep-alive timeout between phases)."""
    await asyncio.gather(*(v.connection.close() for v in visitors))
    for visitor in visitors:
        visitor.connection = loadgen.Connection(visitor.host, visitor.port)
    await asyncio.gather(*(v.connection.open() for v in visitors))


async def phases(port: int, count: int, pid: int, work: Path) -> None:
    """The page loads, the questions and the streams of `count` visitors, each sampled on its own."""
    visitors = [loadgen.Visitor("127.0.0.1", port) for _ in range(count)]
    await asyncio.gather(*(v.connection.open() for v in visitors))
    with Spy(pid, work / "page.txt"):
        before = cpu_seconds(pid)
        await asyncio.gather(*(v.open_page() for v in visitors))
        page = (cpu_seconds(pid) - before) / count * 1000
    print_profile("the page (GET /)", work / "page.txt", page)
    await reconnect(visitors)
    with Spy(pid, work / "ask.txt"):
        before = cpu_seconds(pid)
        answers = await asyncio.gather(*(v.ask("Where does the time go?") for v in visitors))
        ask = (cpu_seconds(pid) - before) / count * 1000
    print_profile("the question (POST /ask)", work / "ask.txt", ask)
    await reconnect(visitors)
    with Spy(pid, work / "stream.txt"):
        before = cpu_seconds(pid)
        chats = [loadgen.Chat() for _ in visitors]
        started = time.perf_counter()
        await asyncio.gather(
            *(v.follow(a, c, started) for v, a, c in zip(visitors, answers, chats, strict=True))
        )
        stream = (cpu_seconds(pid) - before) / count * 1000
    print_profile("the answer's stream (GET /answers/<id>/stream)", work / "stream.txt", stream)
    await asyncio.gather(*(v.connection.close() for v in visitors))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--phases", action="store_true", help="the page, the question and the stream apart")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="answers-profile-"))
    samples = work / "samples.txt"
    with FakeModel(work / "model.log") as model:
        model.configure(tokens=200, delay=0.025)
        with App(model.url, work / "app") as app:
            asyncio.run(loadgen.run_chats("127.0.0.1", app.port, 20))
            if args.phases:
                asyncio.run(phases(app.port, args.chats, app.pid, work))
                return 0
            marks: list[float] = []
            with Spy(app.pid, samples):
                chats = asyncio.run(
                    loadgen.run_chats(
                        "127.0.0.1", app.port, args.chats, on_start=lambda: marks.append(cpu_seconds(app.pid))
                    )
                )
                per_chat = (cpu_seconds(app.pid) - marks[0]) / args.chats * 1000
    errors = sum(1 for chat in chats if chat.error)
    print_profile(f"{args.chats} chats, {errors} errors, page, question and stream", samples, per_chat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
