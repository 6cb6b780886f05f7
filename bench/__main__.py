"""`make bench`: how fast and how light the app is, each figure beside its baseline.

Starts the fake model, the app and the baselines as child processes on 127.0.0.1,
prints one line per figure, and writes docs/benchmarks.json, docs/BENCHMARKS.md and
docs/benchmarks.png. `--quick` runs smaller loads (for a smoke test of the suite).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import brotli

from bench import burst, followers, loadgen, workers
from bench.figures import Figure, completions, percentile, report
from bench.processes import ROOT, App, Child, FakeModel, free_port, memory_mb

DOCS = ROOT / "docs"


def python_start_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def page_weight(url: str) -> tuple[int, int, int, int]:
    """A first visit's bytes decoded and on the wire (compressed as negotiated), its requests, and a repeat's.

    A repeat visit fetches the page again and every file not marked immutable.
    """
    bodies: list[tuple[bytes, bytes]] = []
    repeat = 1

    def fetch(address: str) -> bytes:
        nonlocal repeat
        request = urllib.request.Request(address, headers={"Accept-Encoding": "br, gzip"})
        with urllib.request.urlopen(request) as response:
            wire = response.read()
            coding = response.headers.get("Content-Encoding", "")
            if address != url and "immutable" not in response.headers.get("Cache-Control", ""):
                repeat += 1
        body = (
            brotli.decompress(wire) if coding == "br" else gzip.decompress(wire) if coding == "gzip" else wire
        )
        bodies.append((wire, body))
        return body

    html = fetch(url)
    for asset in re.findall(rb'(?:src|href)="(/static/[^"]+)"', html):
        fetch(url.rstrip("/") + asset.decode())
    return sum(len(body) for _, body in bodies), sum(len(wire) for wire, _ in bodies), len(bodies), repeat


def run(quick: bool) -> list[Figure]:
    figures: list[Figure] = []
    many = 100 if quick else 1000
    work = Path(tempfile.mkdtemp(prefix="answers-bench-"))
    with FakeModel(work / "model.log") as model:
        # Start-up and idle memory.
        baseline_start = python_start_seconds()
        with App(model.url, work / "idle") as app:
            urllib.request.urlopen(app.url + "/").read()
            time.sleep(0.5)
            idle = memory_mb(app.pid)
            report(
                figures,
                Figure(
                    "start-up to first 200",
                    app.startup_seconds,
                    "s",
                    baseline_start,
                    "bare python start",
                    "<= 1 s",
                    app.startup_seconds <= 1.0,
                ),
            )
            report(figures, Figure("idle RSS", idle, "MB", goal="<= 80 MB", met=idle <= 80))
            plain, wire, requests, repeat = page_weight(app.url + "/")
            report(
                figures,
                Figure("first load, decoded", plain / 1024, "KB", goal="<= 108 KB", met=plain <= 108 * 1024),
            )
            report(
                figures,
                Figure("first load, on the wire", wire / 1024, "KB", goal="<= 35 KB", met=wire <= 35 * 1024),
            )
            report(
                figures, Figure("first load, requests", requests, "requests", goal="<= 5", met=requests <= 5)
            )
            report(
                figures, Figure("repeat visit, requests", repeat, "requests", goal="<= 2", met=repeat <= 2)
            )

            # Time to first token added by the app, with no other load.
            model.configure(tokens=20, delay=0.005, first_token_delay=0.1)
            chats = asyncio.run(loadgen.run_sequential("127.0.0.1", app.port, 30 if quick else 100))
            added = [c.first_text - c.stream_sent - 0.1 for c in chats if c.first_text is not None]
            report(figures, Figure("time to first token added, p50", percentile(added, 0.5) * 1000, "ms"))
            report(figures, Figure("time to first token added, p99", percentile(added, 0.99) * 1000, "ms"))

        figures += burst.run(model, work, quick)
        figures += workers.run(model, work, quick)
        figures += followers.run(model, work, quick)
        p99 = next(f for f in figures if f.name.endswith("one worker: p99 completion"))

        # The classic synchronous baseline: Flask under gunicorn, 4 sync workers, on the burst's answers
        # (the followers' part leaves the model on longer ones).
        model.configure(tokens=burst.ANSWER_TOKENS, delay=burst.TOKEN_DELAY)
        sample = 16 if quick else 40
        port = free_port()
        with Child(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "4",
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                "600",
                "bench.flask_baseline:app",
            ],
            env={"LLM_BASE_URL": model.url, "DATABASE_PATH": str(work / "flask.db")},
            log=work / "flask.log",
        ):
            wait_for_port(port)
            flask_chats = asyncio.run(loadgen.run_form_posts("127.0.0.1", port, sample))
        flask_times, flask_errors = completions(flask_chats)
        throughput = len(flask_times) / max(flask_times)
        projected = many / throughput
        report(
            figures,
            Figure(
                f"Flask+gunicorn (4 sync workers), {sample} chats: last completion", max(flask_times), "s"
            ),
        )
        report(
            figures,
            Figure(
                f"Flask+gunicorn projected for {many} chats: last completion",
                projected,
                "s",
                p99.value,
                "this app, measured (p99, one worker)",
            ),
        )
    return figures


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(port)


def write_docs(figures: list[Figure]) -> None:
    """Record the run: JSON for machines, a page and a chart for people."""
    DOCS.mkdir(exist_ok=True)
    (DOCS / "benchmarks.json").write_text(json.dumps([f.__dict__ for f in figures], indent=2) + "\n")
    chart(figures)
    lines = [
        "# Benchmarks",
        "",
        (
            "Measured by `make bench` on a shared 2-core machine; "
            "every figure beside its baseline from the same run."
        ),
        "",
        "| figure | value | baseline | ratio | goal |",
        "| --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        baseline = f"{f.baseline:,.3f} {f.unit} ({f.baseline_name})" if f.baseline is not None else ""
        ratio = f"{f.value / f.baseline:.2f}x" if f.baseline else ""
        goal = f"{f.goal}: {'met' if f.met else 'not met'}" if f.goal else ""
        lines.append(f"| {f.name} | {f.value:,.3f} {f.unit} | {baseline} | {ratio} | {goal} |")
    lines += ["", "![Completion times and CPU per chat](benchmarks.png)", ""]
    (DOCS / "BENCHMARKS.md").write_text("\n".join(lines))


def chart(figures: list[Figure]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cpu = next(f for f in figures if f.name.startswith("server CPU per chat turn"))
    p99 = next(f for f in figures if f.name.endswith("one worker: p99 completion"))
    flask = next(f for f in figures if f.name.startswith("Flask+gunicorn projected"))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.bar(["this app", "bare openai SDK"], [cpu.value, cpu.baseline or 0], color=["#0f6bd7", "#9aa4b2"])
    left.set_title("CPU per chat turn (ms)")
    right.bar(
        ["this app\n(p99)", "bare SDK\n(p99)", "Flask+gunicorn\n(projected, last)"],
        [p99.value, p99.baseline or 0, flask.value],
        color=["#0f6bd7", "#9aa4b2", "#d9822b"],
    )
    right.set_yscale("log")
    right.set_title(p99.name.split(":")[0] + ": completion (s, log)")
    fig.tight_layout()
    fig.savefig(DOCS / "benchmarks.png", dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller loads, for a smoke test")
    args = parser.parse_args()
    started = time.perf_counter()
    figures = run(args.quick)
    write_docs(figures)
    print(f"benchmarks done in {time.perf_counter() - started:.0f} s; see docs/BENCHMARKS.md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
