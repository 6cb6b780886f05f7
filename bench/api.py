"""`make bench-api`: what an API call costs the server, beside a browser chat turn and the bare openai SDK.

Prints one line per figure: the server's CPU per API call (streamed, 200 tokens over 5 s)
beside a browser chat turn on the same model and the bare SDK consuming the same streams,
then 1,000 API streams at once on one worker: how many completed, and their p50 and p99.
`--quick` runs smaller loads.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson

from bench import loadgen
from bench.burst import ANSWER_TOKENS, TOKEN_DELAY
from bench.figures import Figure, bare_sdk, percentile
from bench.processes import App, FakeModel, cpu_seconds

# The API needs accounts; every simulated caller shares one person and one key, so lift their caps.
API_ENV = {
    "SIGN_IN": "accounts",
    "API_KEY_RATE_LIMIT": "1000000/minute",
    "LOG_LEVEL": "WARNING",
}
BODY = {
    "model": "fake-model",
    "messages": [{"role": "user", "content": "Tell me about streaming."}],
    "stream": True,
    "stream_options": {"include_usage": True},
}


@dataclass
class Call:
    """One streamed API call as its client saw it."""

    started: float
    first: float | None = None
    done: float | None = None
    error: str | None = None


async def make_key(database: Path) -> str:
    """An account and a key of its own, made straight in the app's database."""
    from app.people import api_keys
    from app.people.passwords import hash_password
    from app.storage import open_database, users

    db = open_database(f"sqlite:///{database}")
    await db.open()
    try:
        person = await users.create_account(db, "bench", await hash_password("bench password"), "user")
        return await api_keys.make(db, person, "bench", None)
    finally:
        await db.close()


async def one_call(session: aiohttp.ClientSession, url: str, key: str, started: float) -> Call:
    call = Call(started)
    try:
        async with session.post(
            url, data=orjson.dumps(BODY), headers={"Authorization": f"Bearer {key}"}
        ) as reply:
            if reply.status != 200:
                call.error = f"status {reply.status}"
                return call
            async for line in reply.content:
                if line.startswith(b"data: [DONE]"):
                    call.done = time.perf_counter()
                elif call.first is None and b'"content":"' in line and b'"content":""' not in line:
                    call.first = time.perf_counter()
    except aiohttp.ClientError as error:
        call.error = repr(error)
    if call.done is None and call.error is None:
        call.error = "ended without [DONE]"
    return call


async def run_calls(port: int, key: str, count: int, on_start=None) -> list[Call]:  # type: ignore[no-untyped-def]
    """`count` streamed API calls at once (`on_start` marks the moment they begin)."""
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=600)
    ) as session:
        await one_call(session, url, key, time.perf_counter())  # the SDK loads on the first call
        if on_start is not None:
            on_start()
        started = time.perf_counter()
        return list(await asyncio.gather(*(one_call(session, url, key, started) for _ in range(count))))


def report(figure: Figure) -> Figure:
    print(figure.line(), flush=True)
    return figure


def run(quick: bool) -> list[Figure]:
    turns = 50 if quick else 200
    many = 100 if quick else 1000
    work = Path(tempfile.mkdtemp(prefix="answers-bench-api-"))
    figures = []
    with FakeModel(work / "model.log") as model:
        model.configure(tokens=ANSWER_TOKENS, delay=TOKEN_DELAY)
        # A browser chat turn, as `make bench` measures it.
        with App(model.url, work / "chat") as app:
            marks: list[float] = []
            asyncio.run(
                loadgen.run_chats(
                    "127.0.0.1", app.port, turns, on_start=lambda: marks.append(cpu_seconds(app.pid))
                )
            )
            chat_cpu = (cpu_seconds(app.pid) - marks[0]) / turns
        sdk = bare_sdk(model, turns)
        sdk_cpu = sdk["cpu_seconds"] / turns
        # The same streams through the API.
        with App(model.url, work / "api", **API_ENV) as app:
            key = asyncio.run(make_key(work / "api" / "answers.db"))
            marks = []
            calls = asyncio.run(
                run_calls(app.port, key, turns, on_start=lambda: marks.append(cpu_seconds(app.pid)))
            )
            api_cpu = (cpu_seconds(app.pid) - marks[0]) / turns
        failed = sum(call.error is not None for call in calls)
        figures.append(
            report(
                Figure(
                    "server CPU per API call",
                    api_cpu * 1000,
                    "ms",
                    chat_cpu * 1000,
                    "a browser chat turn",
                    "<= 1x",
                    api_cpu <= chat_cpu and failed == 0,
                )
            )
        )
        figures.append(
            report(
                Figure(
                    "server CPU per API call, beside the bare SDK",
                    api_cpu * 1000,
                    "ms",
                    sdk_cpu * 1000,
                    "bare openai SDK per stream",
                )
            )
        )
        # Many API streams at once on one worker.
        with App(model.url, work / "many", **API_ENV) as app:
            key = asyncio.run(make_key(work / "many" / "answers.db"))
            calls = asyncio.run(run_calls(app.port, key, many))
        times = [call.done - call.started for call in calls if call.done is not None]
        firsts = [call.first - call.started for call in calls if call.first is not None]
        errors = [call.error for call in calls if call.error is not None]
        sdk = bare_sdk(model, many)
        figures.append(
            report(
                Figure(
                    f"{many} API streams: completed",
                    len(times),
                    "streams",
                    goal=f"all {many}",
                    met=not errors,
                )
            )
        )
        figures.append(report(Figure(f"{many} API streams: p50 first words", percentile(firsts, 0.5), "s")))
        figures.append(
            report(
                Figure(
                    f"{many} API streams: p50 completion",
                    percentile(times, 0.5),
                    "s",
                    percentile(sdk["times"], 0.5),
                    "bare SDK",
                )
            )
        )
        figures.append(
            report(
                Figure(
                    f"{many} API streams: p99 completion",
                    percentile(times, 0.99),
                    "s",
                    percentile(sdk["times"], 0.99),
                    "bare SDK",
                    "<= 10 s",
                    percentile(times, 0.99) <= 10,
                )
            )
        )
        if errors:
            print(f"first errors: {errors[:3]}", flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller loads, for a smoke test")
    run(parser.parse_args().quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
