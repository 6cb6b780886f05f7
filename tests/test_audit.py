"""`make audit` reads what pip-audit and npm audit say, and never passes when they could not look."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from types import SimpleNamespace

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "audit.py"
audit = SimpleNamespace(**runpy.run_path(str(SCRIPT), run_name="audit"))


def pip_audit(*dependencies: dict) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def npm_audit(vulnerabilities: dict, total: int = 3) -> str:
    return json.dumps(
        {
            "auditReportVersion": 2,
            "vulnerabilities": vulnerabilities,
            "metadata": {
                "vulnerabilities": {"total": len(vulnerabilities)},
                "dependencies": {"total": total},
            },
        }
    )


def test_clean_reports_pass_with_one_line_each():
    python = audit.python_report(0, pip_audit({"name": "quart", "version": "0.23.1", "vulns": []}), "")
    npm = audit.npm_report(0, npm_audit({}), "")
    assert (python.status, python.lines()) == (0, ["pip-audit: 1 packages checked, no known vulnerabilities"])
    assert (npm.status, npm.lines()) == (0, ["npm audit: 3 packages checked, no known vulnerabilities"])


def test_findings_are_printed_and_fail():
    vulnerability = {
        "id": "PYSEC-2099-1",
        "fix_versions": ["3.1.7"],
        "aliases": [],
        "description": "Sandbox escape.",
    }
    python = audit.python_report(
        1, pip_audit({"name": "jinja2", "version": "3.1.6", "vulns": [vulnerability]}), ""
    )
    assert python.status == 1
    assert python.lines() == [
        "pip-audit: 1 known vulnerabilities in 1 packages checked:",
        "  jinja2 3.1.6: PYSEC-2099-1 (fixed in 3.1.7) Sandbox escape.",
    ]
    advisory = {
        "title": "Prototype pollution",
        "url": "https://example.invalid/advisory/1",
        "severity": "high",
    }
    npm = audit.npm_report(1, npm_audit({"htmx.org": {"severity": "high", "via": [advisory]}}), "")
    assert npm.status == 1
    assert npm.lines()[1] == "  htmx.org: high, Prototype pollution (https://example.invalid/advisory/1)"


def test_packages_the_service_could_not_check_fail_plainly():
    output = pip_audit(
        {"name": "quart", "version": "0.23.1", "vulns": []},
        {
            "name": "aiofiles",
            "skip_reason": "Dependency not found on PyPI and could not be audited: aiofiles (25.1.0)",
        },
    )
    report = audit.python_report(0, output, "")
    assert report.status == 2
    assert report.lines() == [
        (
            "pip-audit: FAILED, the advisory service could not check 1 of 2 packages "
            "(first: Dependency not found on PyPI and could not be audited: aiofiles (25.1.0))"
        )
    ]


def test_an_unreachable_service_fails_with_one_line():
    traceback = (
        "Traceback (most recent call last):\n  ...\n"
        "requests.exceptions.ConnectionError: Name or service not known\n"
    )
    python = audit.python_report(1, "", traceback)
    assert python.lines() == [
        (
            "pip-audit: FAILED, no report from pip-audit: "
            "requests.exceptions.ConnectionError: Name or service not known"
        )
    ]
    refused = json.dumps(
        {
            "message": "405 Method Not Allowed - POST https://registry.invalid/bulk",
            "statusCode": 405,
            "error": {"summary": "", "detail": ""},
        }
    )
    npm = audit.npm_report(1, refused, "npm error audit endpoint returned an error")
    assert npm.lines() == [
        (
            "npm audit: FAILED, the advisory service could not be reached: 405 Method Not Allowed - POST "
            "https://registry.invalid/bulk"
        )
    ]
    missing = audit.npm_report(127, "", "npm is not installed")
    assert (missing.status, missing.lines()) == (
        2,
        ["npm audit: FAILED, no report from npm audit: npm is not installed"],
    )
