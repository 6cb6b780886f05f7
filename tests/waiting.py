"""Waiting on a condition, never for a fixed time: a busy machine makes a test slower, not wrong."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

# How long a condition may take before the test fails: far more than any machine needs, so only
# a condition that would never hold gets there (and a condition that holds ends the wait at once).
PATIENCE = 60.0


async def until[T](
    check: Callable[[], T | Awaitable[T]], what: str, *, seconds: float = PATIENCE, every: float = 0.02
) -> T:
    """Call `check` (plain or async) until it returns something true, and return that; else fail on `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"{what}: still not after {seconds:g} s")
        await asyncio.sleep(every)
