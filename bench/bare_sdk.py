"""Baseline: the bare openai SDK consuming N concurrent streams, nothing else.

Run as `python -m bench.bare_sdk BASE_URL COUNT`; prints one JSON line with the
completion times, the process's CPU seconds and its peak RSS.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

import openai


async def consume(client: openai.AsyncOpenAI, started: float) -> float:
    stream = await client.chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "Tell me about streaming."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    async for _chunk in stream:
        pass
    return time.perf_counter() - started


async def main(base_url: str, count: int) -> None:
    client = openai.AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0)
    await consume(client, time.perf_counter())  # warm the connection pool and imports
    cpu_before = time.process_time()
    started = time.perf_counter()
    results = await asyncio.gather(*(consume(client, started) for _ in range(count)), return_exceptions=True)
    cpu = time.process_time() - cpu_before
    await client.close()
    times = [r for r in results if isinstance(r, float)]
    print(
        json.dumps(
            {
                "completed": len(times),
                "errors": len(results) - len(times),
                "times": times,
                "cpu_seconds": cpu,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
