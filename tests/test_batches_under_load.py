"""Under load the first words go out at once and answers already on screen wait longer between batches.

The process's lateness (how late its streams wake, which is how saturated its CPU is)
is set by each test; sleeps are recorded rather than slept, so nothing here times the machine.
"""

from __future__ import annotations

import asyncio

import pytest

from app.answers import following
from app.answers import run as runs
from app.answers.following import follow_run
from app.answers.run import Lateness, Run, batch_seconds


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    """The windows streams ask to sleep, returned from at once."""
    asked: list[float] = []
    real = asyncio.sleep

    async def sleep(seconds: float) -> None:
        asked.append(seconds)
        await real(0)

    monkeypatch.setattr(following.asyncio, "sleep", sleep)
    return asked


def test_batches_widen_with_answers_at_once_and_with_a_saturated_cpu():
    assert batch_seconds(1) == 0.05
    assert batch_seconds(500) == 0.5
    assert batch_seconds(1, late=0.25) == 1.0
    assert batch_seconds(1000, late=0.1) == 0.5
    assert batch_seconds(1000, late=30.0) == 2.0


def test_lateness_follows_the_wake_ups_smoothly():
    lateness = Lateness()
    for _ in range(200):
        lateness.note(0.4)
    assert lateness.seconds == pytest.approx(0.4, rel=0.01)
    lateness.note(-1.0)  # early is on time
    assert 0.3 < lateness.seconds < 0.4


@pytest.mark.parametrize(("late", "window"), [(0.0, 0.05), (0.3, 1.2), (5.0, 2.0)])
async def test_first_words_at_once_then_batches_as_wide_as_the_load_asks(monkeypatch, slept, late, window):
    monkeypatch.setattr(runs, "lateness", Lateness())
    runs.lateness.seconds = late
    run = Run(1, {}, "token", 60.0)
    run.add("First words")
    pieces = follow_run(run, 0)
    assert await anext(pieces) == ("First words", 11)
    assert slept == []
    run.add(", then more.")
    assert await anext(pieces) == (", then more.", 23)
    assert slept == [pytest.approx(window)]


def test_the_model_is_read_at_once_until_the_first_words_however_busy(monkeypatch):
    monkeypatch.setattr(runs, "lateness", Lateness())
    runs.lateness.seconds = 0.5
    registry: dict[int, Run] = {}
    for number in range(1000):
        registry[number] = Run(number, registry, "token", 60.0)
    run = registry[0]
    assert run.pace() == 0.0  # the reply's head and role chunk came; its first words have not
    run.add("First words")
    assert run.pace() == 2.0
