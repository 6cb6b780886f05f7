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
    "highlighting": "highlighting: lexers allowed {lexers} / fuzzed inputs {inputs}"
    " / slowest {slowest_ms} ms",
    "markdown": "markdown: hostile shapes {shapes} / slowest {slowest_ms} ms at {chars} characters",
    "files": "hostile files: tried {tried} / refused clearly {refused} / stored {stored}"
    " / half-stored {half_stored} / slowest {slowest_ms} ms"
    " (event loop: longest stall {stall_ms} ms, limit 100 ms)",
    "links": "links: tried {tried} / refused {refused} / worked {worked}"
    " (worked when they should not {leaked}, refused when they should work {lost})",
    "logs": "logs: tokens scanned {routes} routes / found {found}",
    "races": "races: runs {runs} / over the cap {over}",
    "stall": "event loop: longest stall {stall_ms} ms while {answers} hostile answers rendered (limit 100 ms;"
    " {wall_ms} ms by the wall clock, waits for other processes included)",
}


def add(suite: str, **counts: int) -> None:
    """Add to a suite's counters."""
    for name, value in counts.items():
        _COUNTS[suite][name] += value


def at_least(suite: str, name: str, value: int) -> None:
    """Keep the largest value seen for a counter (e.g. the slowest case)."""
    _COUNTS[suite][name] = max(_COUNTS[suite][name], value)


def lines() -> list[str]:
    """The summary line of every suite that ran."""
    return [_LINES[suite].format_map(_COUNTS[suite]) for suite in _LINES if suite in _COUNTS]
