"""A first-come, first-served lock whose cost does not grow with the queue behind it."""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class Turns:
    """An asyncio lock handed from one waiter straight to the next.

    asyncio.Lock checks every waiter on each acquire, so a thousand requests queued
    for the one SQLite connection cost a million checks; here each costs one.
    """

    def __init__(self) -> None:
        self._held = False
        self._waiting: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        """Whether someone holds the lock."""
        return self._held

    async def __aenter__(self) -> None:
        if not self._held and not self._waiting:
            self._held = True
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            # Handed the lock just as we were cancelled: pass it on rather than keep it.
            if turn.done() and not turn.cancelled():
                self._pass_on()
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pass_on()

    def _pass_on(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the lock stays held, now by that waiter
                return
        self._held = False
