"""Timing for the benchmarks: CPU time of this thread, the best of a few runs (noise only ever adds time)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

from pygments.lexer import Lexer

from tests.hostile import Shape


def best_seconds(render: Callable[[str], object], text: str, tries: int) -> float:
    """The least CPU time of `tries` renders: noise only ever adds time.

    CPU time of this thread, not the wall clock: being descheduled is not the renderer's doing.
    """
    best = float("inf")
    for _ in range(tries):
        started = time.thread_time()
        render(text)
        best = min(best, time.thread_time() - started)
    return best


# Below this a time is mostly noise, so growth is judged against this floor.
FLOOR_SECONDS = 0.0005


@dataclass(frozen=True)
class Growth:
    """The best times of a shape at a small and a big size, and whether the big one stayed in proportion."""

    quick: float
    slow: float
    linear: bool


def growth(
    render: Callable[[str], object], shape: Shape, small: int, big: int, budget: float, tries: int = 5
) -> Growth:
    """Time a shape at two sizes, again (best of `tries`) when over `budget` or out of proportion.

    In proportion: `big` characters take at most twice their share of `small` ones.
    """
    limit = 2 * big / small
    for attempt in (1, tries):
        slow = best_seconds(render, shape.text(big), attempt)
        quick = best_seconds(render, shape.text(small), attempt) if slow > limit * FLOOR_SECONDS else 0.0
        linear = slow <= limit * max(quick, FLOOR_SECONDS)
        if linear and slow <= budget:
            break
    return Growth(quick, slow, linear)


@dataclass(frozen=True)
class Steps:
    """How lexing one text went: whether it ended within its time, how long it took, its slowest token."""

    finished: bool
    seconds: float
    longest: float


def lex_steps(lexer: Lexer, text: str, seconds: float) -> Steps:
    """Lex `text` for at most `seconds` of CPU time, timing each token (the garbage collector paused)."""
    gc.disable()
    try:
        started = last = time.thread_time()
        longest = 0.0
        for _ in lexer.get_tokens(text):
            now = time.thread_time()
            longest, last = max(longest, now - last), now
            if now - started > seconds:
                return Steps(False, now - started, longest)
        return Steps(True, last - started, longest)
    finally:
        gc.enable()
