"""`make bench-burst`: one worker, a thousand visitors at once, and the CPU of one chat turn.

Each visitor loads the page, asks, and reads the answer's stream to its end; every
figure is printed beside the bare openai SDK's consuming the same streams in the same
run, with its goal.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from bench import loadgen
from bench.figures import (
    Figure,
    bare_sdk,
    completions,
    errors_seen,
    first_words,
    percentile,
    report,
    visits,
)
from bench.processes import App, FakeModel, cpu_seconds, memory_mb

ANSWER_TOKENS = 200
TOKEN_DELAY = 0.025  # 200 tokens over 5 s
WARM_UP_CHATS = 5
CPU_GOAL_MS = 7.5
CPU_GOAL_RATIO = 0.3


def warm(port: int, model: FakeModel, chats: int = WARM_UP_CHATS) -> None:
    """Answer a few questions first, as any running server has: the SDK and templates load on the first."""
    model.configure(tokens=5, delay=0.0)
    asyncio.run(loadgen.run_chats("127.0.0.1", port, chats))
    model.configure(tokens=ANSWER_TOKENS, delay=TOKEN_DELAY)


def run(model: FakeModel, work: Path, quick: bool = False) -> list[Figure]:
    figures: list[Figure] = []
    many = 100 if quick else 1000
    turns = 50 if quick else 200
    with App(model.url, work / "burst") as app:
        warm(app.port, model)
        marks: list[float] = []
        asyncio.run(
            loadgen.run_chats(
                "127.0.0.1", app.port, turns, on_start=lambda: marks.append(cpu_seconds(app.pid))
            )
        )
        app_cpu = (cpu_seconds(app.pid) - marks[0]) / turns
        chats = asyncio.run(loadgen.run_chats("127.0.0.1", app.port, many))
        peak = memory_mb(app.pid, "VmHWM")
    sdk_turns = bare_sdk(model, turns)
    sdk_cpu = sdk_turns["cpu_seconds"] / turns
    ratio = app_cpu / sdk_cpu
    report(
        figures,
        Figure(
            "server CPU per chat turn (page, ask, stream, store)",
            app_cpu * 1000,
            "ms",
            sdk_cpu * 1000,
            "bare openai SDK per stream",
            f"<= {CPU_GOAL_MS} ms and <= {CPU_GOAL_RATIO}x",
            app_cpu * 1000 <= CPU_GOAL_MS and ratio <= CPU_GOAL_RATIO,
        ),
    )
    sdk = bare_sdk(model, many)
    times, errors = completions(chats)
    report(
        figures,
        Figure(
            f"{many} chats at once, one worker: completed",
            len(times),
            "chats",
            sdk["completed"],
            "bare SDK",
            f"all {many}",
            errors == 0,
        ),
    )
    if errors:
        print(f"  failures: {errors_seen(chats)}", flush=True)
    if sdk["errors"]:
        print(f"  the bare SDK's failures: {sdk['errors']}, the first: {sdk['first_error']}", flush=True)
    firsts = first_words(chats)
    for share, goal in ((0.5, 1.5), (0.99, 4.0)):
        value = percentile(firsts, share)
        report(
            figures,
            Figure(
                f"{many} chats at once, one worker: p{round(share * 100)} first word after arriving",
                value,
                "s",
                percentile(sdk["firsts"], share),
                "bare SDK's first chunk",
                f"<= {goal} s",
                value <= goal,
            ),
        )
    # Where the first word's wait goes: the page, the question, then the stream until the model's words.
    ok = [c for c in chats if c.error is None and c.first_text is not None]
    for name, share, seconds in (
        ("p10 first word after arriving", 0.1, firsts),
        ("p50 page loaded after arriving", 0.5, [c.posted - c.opened for c in ok]),
        ("p50 question taken after arriving", 0.5, [c.stream_sent - c.opened for c in ok]),
        ("p50 stream's request to its first word", 0.5, [(c.first_text or 0) - c.stream_sent for c in ok]),
    ):
        report(figures, Figure(f"{many} chats at once, one worker: {name}", percentile(seconds, share), "s"))
    report(
        figures,
        Figure(
            f"{many} chats at once, one worker: p50 completion",
            percentile(times, 0.5),
            "s",
            percentile(sdk["times"], 0.5),
            "bare SDK",
        ),
    )
    report(
        figures,
        Figure(
            f"{many} chats at once, one worker: p99 completion",
            percentile(times, 0.99),
            "s",
            percentile(sdk["times"], 0.99),
            "bare SDK",
            "<= 10 s",
            percentile(times, 0.99) <= 10,
        ),
    )
    report(
        figures,
        Figure(
            f"{many} chats at once, one worker: p99 from arrival to last word",
            percentile(visits(chats), 0.99),
            "s",
        ),
    )
    report(
        figures,
        Figure(
            f"{many} chats at once, one worker: peak RSS",
            peak,
            "MB",
            sdk["peak_rss_mb"],
            "bare SDK",
            "<= 200 MB",
            peak <= 200,
        ),
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller loads, for a smoke test")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="answers-burst-"))
    with FakeModel(work / "model.log") as model:
        run(model, work, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
