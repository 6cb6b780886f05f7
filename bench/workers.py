"""`make bench-workers`: the production image's command, two Hypercorn workers, on this machine.

Two thousand visitors at once, then a thousand arriving over ten seconds; each loads the
page, asks, and reads the answer to its end. Every figure is printed beside the bare
openai SDK's consuming the same streams in the same run, with its goal.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from bench import loadgen
from bench.burst import ANSWER_TOKENS, CPU_GOAL_MS, TOKEN_DELAY
from bench.figures import (
    Figure,
    bare_sdk,
    completions,
    errors_seen,
    first_words_after_asking,
    percentile,
    report,
)
from bench.processes import FakeModel, Workers, cpu_seconds, memory_mb

ARRIVAL_SECONDS = 10.0


def run(model: FakeModel, work: Path, quick: bool = False) -> list[Figure]:
    figures: list[Figure] = []
    many = 200 if quick else 2000
    arriving = 100 if quick else 1000
    with Workers(model.url, work / "workers") as server:
        model.configure(tokens=5, delay=0.0)
        # Enough at once that every worker answers a few first.
        asyncio.run(loadgen.run_chats("127.0.0.1", server.port, 20))
        model.configure(tokens=ANSWER_TOKENS, delay=TOKEN_DELAY)
        before = sum(cpu_seconds(pid) for pid in server.workers)
        spread = asyncio.run(loadgen.run_chats("127.0.0.1", server.port, arriving, over=ARRIVAL_SECONDS))
        cpu = (sum(cpu_seconds(pid) for pid in server.workers) - before) / arriving
        burst = asyncio.run(loadgen.run_chats("127.0.0.1", server.port, many))
        peaks = [memory_mb(pid, "VmHWM") for pid in server.workers]
    sdk_spread = bare_sdk(model, arriving, ARRIVAL_SECONDS)
    sdk_burst = bare_sdk(model, many)

    firsts = first_words_after_asking(spread)
    arrivals = f"{arriving} visitors over {ARRIVAL_SECONDS:.0f} s, two workers"
    report(
        figures,
        Figure(
            f"{arrivals}: p99 first word after the question",
            percentile(firsts, 0.99),
            "s",
            percentile(sdk_spread["firsts"], 0.99),
            "bare SDK's first chunk",
            "<= 1 s",
            percentile(firsts, 0.99) <= 1.0,
        ),
    )
    report(
        figures,
        Figure(
            f"{arrivals}: p50 first word after the question",
            percentile(firsts, 0.5),
            "s",
            percentile(sdk_spread["firsts"], 0.5),
            "bare SDK's first chunk",
        ),
    )
    _, spread_errors = completions(spread)
    report(
        figures,
        Figure(
            f"{arrivals}: completed",
            arriving - spread_errors,
            "chats",
            sdk_spread["completed"],
            "bare SDK",
            f"all {arriving}",
            spread_errors == 0,
        ),
    )
    report(
        figures,
        Figure(
            "server CPU per chat turn, two workers (page, ask, stream, store)",
            cpu * 1000,
            "ms",
            sdk_spread["cpu_seconds"] / arriving * 1000,
            "bare openai SDK per stream",
            f"<= {CPU_GOAL_MS} ms",
            cpu * 1000 <= CPU_GOAL_MS,
        ),
    )
    times, errors = completions(burst)
    report(
        figures,
        Figure(
            f"{many} chats at once, two workers: completed",
            len(times),
            "chats",
            sdk_burst["completed"],
            "bare SDK",
            f"all {many}",
            errors == 0,
        ),
    )
    if errors or spread_errors:
        print(f"  failures: {errors_seen(burst + spread)}", flush=True)
    for share in (0.5, 0.99):
        value = percentile(times, share)
        report(
            figures,
            Figure(
                f"{many} chats at once, two workers: p{round(share * 100)} completion from the question",
                value,
                "s",
                percentile(sdk_burst["times"], share),
                "bare SDK",
                "<= 10 s" if share == 0.99 else "",
                value <= 10 if share == 0.99 else None,
            ),
        )
    report(
        figures,
        Figure(
            f"{many} chats at once, two workers: peak RSS of the larger worker",
            max(peaks),
            "MB",
            sdk_burst["peak_rss_mb"],
            "bare SDK",
            "<= 200 MB",
            max(peaks) <= 200,
        ),
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller loads, for a smoke test")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="answers-workers-"))
    with FakeModel(work / "model.log") as model:
        run(model, work, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
