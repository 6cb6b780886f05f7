"""Figures the security suites report at the end of the run (one line per suite)."""

from __future__ import annotations

from collections import defaultdict

_COUNTS: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
_LINES = {
    "xss": "XSS: payloads tried {tried} / executed {executed} "
    "(dialogs {dialogs}, CSP violations {violations})",
    "fuzz": "fuzz: cases {cases} / 5xx {server_errors} "
    "(rejected {rejected}, rows stored by rejected input {leaked})",
    "faults": "model faults: injected {injected} / handled {handled} (slowest error bubble {slowest_ms} ms)",
    "routes": "routes fuzzed: routes {routes} / requests {requests} / without security headers {unguarded} / "
    "tracebacks {tracebacks}",
    "highlighting": "highlighting: lexers allowed {lexers} / hostile inputs {inputs}"
    " (shown plain, out of work: {plain})",
    "markdown": "markdown: hostile shapes {shapes} / at most {calls_per_char} calls a character"
    " at {chars} characters",
    "files": "hostile files: tried {tried} / refused clearly {refused} / stored {stored}"
    " / half-stored {half_stored} / slowest {slowest_ms} ms"
    " (images prepared off the event loop {off_loop}, on it {on_loop})",
    "links": "links: tried {tried} / refused {refused} / worked {worked}"
    " (worked when they should not {leaked}, refused when they should work {lost})",
    "logs": "logs: tokens scanned {routes} routes / found {found}",
    "races": "races: runs {runs} / over the cap {over}",
    "stall": "event loop: hostile answers {answers} / rendered off the loop {off_loop}"
    " / on it, each short enough to render at once {on_loop}",
}


# Counters that keep their largest value rather than a sum.
_LARGEST: set[tuple[str, str]] = set()


def add(suite: str, **counts: int) -> None:
    """Add to a suite's counters."""
    for name, value in counts.items():
        _COUNTS[suite][name] += value


def at_least(suite: str, name: str, value: int) -> None:
    """Keep the largest value seen for a counter (e.g. the slowest case)."""
    _LARGEST.add((suite, name))
    _COUNTS[suite][name] = max(_COUNTS[suite][name], value)


def exported() -> dict[str, object]:
    """This process's counters, for a pytest-xdist worker to hand to the controller."""
    return {"counts": {suite: dict(counts) for suite, counts in _COUNTS.items()}, "largest": sorted(_LARGEST)}


def merge(figures: dict[str, object]) -> None:
    """Add a worker's counters to this process's."""
    largest = {tuple(pair) for pair in figures["largest"]}  # type: ignore[union-attr]
    for suite, counts in figures["counts"].items():  # type: ignore[union-attr]
        for name, value in counts.items():
            if (suite, name) in largest:
                at_least(suite, name, value)
            else:
                _COUNTS[suite][name] += value


def lines() -> list[str]:
    """The summary line of every suite that ran."""
    return [_LINES[suite].format_map(_COUNTS[suite]) for suite in _LINES if suite in _COUNTS]
