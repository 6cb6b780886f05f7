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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="answers-profile-"))
    samples = work / "samples.txt"
    spy_binary = Path(sys.executable).with_name("py-spy")
    with FakeModel(work / "model.log") as model:
        model.configure(tokens=200, delay=0.025)
        with App(model.url, work / "app") as app:
            asyncio.run(loadgen.run_chats("127.0.0.1", app.port, 20))
            spy = subprocess.Popen(
                [
                    str(spy_binary),
                    "record",
                    "-p",
                    str(app.pid),
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
            marks: list[float] = []
            chats = asyncio.run(
                loadgen.run_chats(
                    "127.0.0.1", app.port, args.chats, on_start=lambda: marks.append(cpu_seconds(app.pid))
                )
            )
            per_chat = (cpu_seconds(app.pid) - marks[0]) / args.chats * 1000
            spy.send_signal(2)
            spy.wait(timeout=60)
    errors = sum(1 for chat in chats if chat.error)
    print(f"{args.chats} chats, {errors} errors, app CPU per chat {per_chat:.1f} ms")
    total, parts = breakdown(samples)
    for name, count in parts.most_common():
        print(f"{count / total * 100:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
