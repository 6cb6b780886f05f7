"""Baseline: the bare openai SDK consuming N concurrent streams, nothing else.

Run as `python -m bench.bare_sdk BASE_URL COUNT [OVER]`: COUNT streams at once, or
arriving evenly over OVER seconds; prints one JSON line with the completion times and
the first chunk's (from each request), the process's CPU seconds and its peak RSS.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

import openai


async def consume(client: openai.AsyncOpenAI, delay: float = 0.0) -> tuple[float, float]:
    """One stream read to its end: seconds to its first chunk and to its end."""
    await asyncio.sleep(delay)
    started = time.perf_counter()
    first = None
    stream = await client.chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "Tell me about streaming."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
    return first or 0.0, time.perf_counter() - started


async def main(base_url: str, count: int, over: float) -> None:
    # The SDK's default gives a connection 5 s; a thousand at once on a busy machine take longer,
    # and a baseline that fails its streams would flatter nobody.
    client = openai.AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0, timeout=600.0)
    await consume(client)  # warm the connection pool and imports
    cpu_before = time.process_time()
    results = await asyncio.gather(
        *(consume(client, over * n / count) for n in range(count)), return_exceptions=True
    )
    cpu = time.process_time() - cpu_before
    await client.close()
    done = [r for r in results if isinstance(r, tuple)]
    print(
        json.dumps(
            {
                "completed": len(done),
                "errors": len(results) - len(done),
                "first_error": next((repr(r) for r in results if isinstance(r, BaseException)), None),
                "times": [end for _, end in done],
                "firsts": [first for first, _ in done],
                "cpu_seconds": cpu,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0))
