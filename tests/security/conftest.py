"""The security suites: figures printed in the run's final summary."""

from __future__ import annotations

import pytest

from tests.security import figures


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print each suite's figures, whatever the capture mode."""
    found = figures.lines()
    if found:
        terminalreporter.section("security figures")
        for line in found:
            terminalreporter.write_line(line)
