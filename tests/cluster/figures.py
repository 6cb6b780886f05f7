"""Figures the cluster suite reports at the end of the run: one line per scenario, then its findings."""

from __future__ import annotations

_LINES: dict[str, list[str]] = {}


def report(scenario: str, *lines: str) -> None:
    """Record a scenario's figures (a scenario run twice keeps its last figures)."""
    _LINES[scenario] = list(lines)


def exported() -> dict[str, list[str]]:
    """The recorded lines, for a pytest-xdist worker to hand to the controller."""
    return dict(_LINES)


def merge(lines: dict[str, list[str]]) -> None:
    """Add a worker's lines to this process's."""
    _LINES.update(lines)


def lines() -> list[str]:
    """Every recorded line, scenario by scenario."""
    return [line for scenario in _LINES.values() for line in scenario]
