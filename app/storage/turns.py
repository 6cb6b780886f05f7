"""A first-come, first-served lock (or semaphore) whose cost does not grow with the queue behind it."""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class Turns:
    """At most `places` holders at once; the others wait in line and are let in one by one.

    asyncio.Lock checks every waiter on each acquire, so a thousand requests queued
    for the one SQLite connection (or for a pool's lock) cost a million checks; here
    each costs one.
    """

    def __init__(self, places: int = 1) -> None:
        self._free = places
        self._waiting: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        """Whether every place is taken."""
        return self._free == 0

    async def acquire(self) -> None:
        """Take a place, waiting in line for one if need be."""
        if self._free and not self._waiting:
            self._free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            # Handed a place just as we were cancelled: pass it on rather than keep it.
            if turn.done() and not turn.cancelled():
                self._pass_on()
            raise

    def release(self) -> None:
        """Give a place back (to the next in line, if any)."""
        self._pass_on()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pass_on()

    def _pass_on(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the place stays taken, now by that waiter
                return
        self._free += 1
