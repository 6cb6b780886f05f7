"""What every benchmark shares: a figure beside its baseline and goal, percentiles, the bare SDK's run."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from bench import loadgen
from bench.processes import ROOT, FakeModel


@dataclass
class Figure:
    """One measured figure, its baseline and its goal."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    goal: str = ""
    met: bool | None = None

    def line(self) -> str:
        text = f"{self.name}: {self.value:,.3f} {self.unit}"
        if self.baseline is not None:
            ratio = self.value / self.baseline if self.baseline else float("inf")
            text += f"  (baseline {self.baseline_name}: {self.baseline:,.3f} {self.unit}; ratio {ratio:.2f}x)"
        if self.goal:
            text += f"  goal {self.goal}: {'met' if self.met else 'NOT met'}"
        return text


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(figures: list[Figure], figure: Figure) -> None:
    figures.append(figure)
    print(figure.line(), flush=True)


def bare_sdk(model: FakeModel, count: int, over: float = 0.0) -> dict:
    """The bare openai SDK consuming `count` streams of the model (arriving evenly `over` seconds)."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.bare_sdk", model.url, str(count), str(over)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def completions(chats: list[loadgen.Chat]) -> tuple[list[float], int]:
    """Seconds from a visitor's question to the answer's end, and how many failed."""
    times = [c.done - c.posted for c in chats if c.error is None and c.done is not None]
    return times, len(chats) - len(times)


def visits(chats: list[loadgen.Chat]) -> list[float]:
    """Seconds from a visitor's arrival (loading the page) to the answer's end."""
    return [c.done - c.opened for c in chats if c.error is None and c.done is not None]


def first_words(chats: list[loadgen.Chat]) -> list[float]:
    """Seconds from a visitor's arrival (loading the page) to the answer's first words on screen."""
    return [c.first_text - c.opened for c in chats if c.error is None and c.first_text is not None]


def first_words_after_asking(chats: list[loadgen.Chat]) -> list[float]:
    """Seconds from a visitor's question (the post) to the answer's first words on screen."""
    return [c.first_text - c.posted for c in chats if c.error is None and c.first_text is not None]


def errors_seen(chats: list[loadgen.Chat]) -> str:
    """The first few distinct failures, to print beside a count that is not all."""
    found = sorted({c.error for c in chats if c.error})
    return "; ".join(found[:3])
