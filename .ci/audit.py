"""`make audit`: known vulnerabilities of the pinned Python and npm packages (pip-audit and npm audit).

Exits 0 when both advisory services answered and know of nothing, 1 when they know of
something (each finding is printed), and 2 when a service could not be reached or could
not check every package: an audit that could not look is said plainly, never a pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt", "requirements-bench.txt")
TIMEOUT_SECONDS = 600
REASON_CHARS = 300
CLEAN, FOUND, UNREACHABLE = 0, 1, 2


@dataclass
class Report:
    """What one audit says: how many packages it checked, what it found, and why it could not look, if so."""

    tool: str
    checked: int = 0
    findings: list[str] = field(default_factory=list)
    failure: str | None = None

    @property
    def status(self) -> int:
        return UNREACHABLE if self.failure else FOUND if self.findings else CLEAN

    def lines(self) -> list[str]:
        """The report as printed: a line for a failure, then the findings, or a line saying there are none."""
        lines = [f"{self.tool}: FAILED, {self.failure}"] if self.failure else []
        if self.findings:
            lines.append(
                f"{self.tool}: {len(self.findings)} known vulnerabilities in {self.checked} packages checked:"
            )
            lines += [f"  {finding}" for finding in self.findings]
        elif not self.failure:
            lines.append(f"{self.tool}: {self.checked} packages checked, no known vulnerabilities")
        return lines


def python_report(returncode: int, stdout: str, stderr: str) -> Report:
    """Read `pip-audit --format json`; a package it skipped counts as not checked."""
    report = Report("pip-audit")
    try:
        dependencies = json.loads(stdout)["dependencies"]
    except (ValueError, KeyError, TypeError):
        report.failure = f"no report from pip-audit: {_last_line(stderr) or f'exit status {returncode}'}"
        return report
    skipped = [dependency for dependency in dependencies if "skip_reason" in dependency]
    report.checked = len(dependencies) - len(skipped)
    if skipped:
        report.failure = (
            f"the advisory service could not check {len(skipped)} of {len(dependencies)} packages "
            f"(first: {_short(skipped[0]['skip_reason'])})"
        )
    report.findings = [
        f"{dependency['name']} {dependency['version']}: {_python_finding(vulnerability)}"
        for dependency in dependencies
        for vulnerability in dependency.get("vulns", ())
    ]
    return report


def npm_report(returncode: int, stdout: str, stderr: str) -> Report:
    """Read `npm audit --json`: its vulnerabilities, or the error that kept it from the advisory service."""
    report = Report("npm audit")
    try:
        answer = json.loads(stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        report.failure = f"no report from npm audit: {_last_line(stderr) or f'exit status {returncode}'}"
        return report
    if "error" in answer or "vulnerabilities" not in answer:
        report.failure = f"the advisory service could not be reached: {_short(str(answer.get('message')))}"
        return report
    report.checked = answer.get("metadata", {}).get("dependencies", {}).get("total", 0)
    report.findings = [
        f"{name}: {entry.get('severity', '?')}, {_npm_finding(entry)}"
        for name, entry in sorted(answer["vulnerabilities"].items())
    ]
    return report


def _python_finding(vulnerability: dict) -> str:
    fixed = ", ".join(vulnerability.get("fix_versions") or ()) or "no fixed version yet"
    return (
        f"{vulnerability['id']} (fixed in {fixed}) {_short(vulnerability.get('description') or '')}".rstrip()
    )


def _npm_finding(entry: dict) -> str:
    advisories = [via for via in entry.get("via", ()) if isinstance(via, dict)]
    if not advisories:
        return f"through {', '.join(str(via) for via in entry.get('via', ()))}"
    return "; ".join(f"{advisory.get('title', '?')} ({advisory.get('url', '?')})" for advisory in advisories)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return _short(lines[-1]) if lines else ""


def _short(text: str) -> str:
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS] + "…"


def _run(command: list[str]) -> tuple[int, str, str]:
    try:
        done = subprocess.run(
            command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
        )
    except FileNotFoundError:
        return 127, "", f"{command[0]} is not installed"
    except subprocess.TimeoutExpired:
        return 124, "", f"no answer within {TIMEOUT_SECONDS} s"
    return done.returncode, done.stdout, done.stderr


def main() -> int:
    """Run both audits, print what they say, and exit with the worse status."""
    requirements = [argument for name in REQUIREMENTS for argument in ("-r", name)]
    python = python_report(
        *_run(
            [
                sys.executable,
                "-m",
                "pip_audit",
                "--no-deps",
                "--disable-pip",
                "--progress-spinner",
                "off",
                "--format",
                "json",
                *requirements,
            ]
        )
    )
    npm = npm_report(*_run(["npm", "audit", "--package-lock-only", "--json"]))
    for report in (python, npm):
        print("\n".join(report.lines()), flush=True)
    return max(python.status, npm.status)


if __name__ == "__main__":
    sys.exit(main())
