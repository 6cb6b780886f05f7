"""A watch on the event loop: a task that ticks every 5 ms and records the longest gap between ticks."""

from __future__ import annotations

import asyncio
import gc
import time
from types import TracebackType

TICK_SECONDS = 0.005


class LoopWatch:
    """Ticks on the running loop while in use, and records the longest gap between two ticks.

    `longest` is the gap by the wall clock. `longest_busy` counts a gap only as far as this
    process had the CPU meanwhile: on a shared machine the process also waits for other
    processes, which no code of the app can help. The objects that exist when the watch
    starts (the test runner's million or so, where a served app has some tens of thousands)
    are frozen meanwhile, so that a garbage collection costs what it would cost the app.
    """

    def __init__(self) -> None:
        self.longest = 0.0
        self.longest_busy = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopWatch:
        gc.freeze()
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        # A last tick counts a stall that was still going on when the work ended.
        await asyncio.sleep(TICK_SECONDS)
        assert self._task is not None
        self._task.cancel()
        gc.unfreeze()

    async def _tick(self) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now_wall, now_cpu = time.perf_counter(), time.process_time()
            gap = now_wall - wall
            self.longest = max(self.longest, gap)
            self.longest_busy = max(self.longest_busy, min(gap, now_cpu - cpu))
            wall, cpu = now_wall, now_cpu
