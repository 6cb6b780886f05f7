"""The processes under test: the fake model, and two app instances over one database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.browser.conftest import ROOT, AppServer
from tests.cluster.processes import free_ports, wait_for

MYSQL_CODE = re.compile(r"\((\d{4}),")
# The fake model's answer: 40 tokens, one every 30 ms (about 1.2 s an answer).
TOKENS = 40
DELAY = 0.03
ANSWER = " ".join(f"w{number}" for number in range(TOKENS))


class ModelServer:
    """`python -m tests.fake_llm` in a process of its own, so that the load does not slow it down."""

    def __init__(self, folder: Path, tokens: int = TOKENS, delay: float = DELAY) -> None:
        (port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{port}/v1"
        self.log = folder / "fake_llm.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.fake_llm",
                    "--port",
                    str(port),
                    "--tokens",
                    str(tokens),
                    "--delay",
                    str(delay),
                    "--uvloop",
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for("the fake model", self._listening, timeout=60, interval=0.05)

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the fake model exited:\n{self.log.read_text()}")
        return "listening" in self.log.read_text()

    def _post(self, path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            self.url.removesuffix("/v1") + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5):
            pass

    def configure(self, **fields: Any) -> None:
        """Change how the model answers from now on (see tests.fake_llm.Behavior)."""
        self._post("/_fake/behavior", fields)

    def reset(self) -> None:
        """Back to the behaviour it started with."""
        self._post("/_fake/reset", {})

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@dataclass
class Instances:
    """Two app processes over one database: A serves the pages and questions, B the answers' streams."""

    a: AppServer
    b: AppServer

    @property
    def urls(self) -> list[str]:
        return [self.a.url, self.b.url]

    def kill_b(self) -> None:
        """Crash instance B (SIGKILL): no shutdown hook runs, its answers just stop."""
        self.b.process.kill()
        self.b.process.wait()

    def log_findings(self) -> LogFindings:
        """What both instances logged at warning level and above."""
        return LogFindings.read([self.a.log, self.b.log])


@contextmanager
def start_instances(folder: Path, model: ModelServer, env: dict[str, str]) -> Iterator[Instances]:
    """Start A then B (A migrates the database first), and stop whatever started."""
    started: list[AppServer] = []
    try:
        for name in ("a", "b"):
            (folder / name).mkdir()
            started.append(AppServer(folder / name, model.url, **env))
        yield Instances(*started)
    finally:
        for server in reversed(started):
            server.stop()


@dataclass
class LogFindings:
    """Warnings and errors the app logged: how many, which MySQL error codes, and the distinct messages."""

    count: int
    codes: Counter[str]
    messages: Counter[str]

    @classmethod
    def read(cls, logs: list[Path]) -> LogFindings:
        codes: Counter[str] = Counter()
        messages: Counter[str] = Counter()
        count = 0
        for path in logs:
            for line in path.read_text(errors="replace").splitlines():
                record = _record(line)
                if record is None or record.get("level") not in ("warning", "error", "critical"):
                    continue
                count += 1
                text = f"{record.get('message', '')} {record.get('exception', '')}"
                codes.update(MYSQL_CODE.findall(text))
                messages[_shape(str(record.get("message", "")))] += 1
        return cls(count, codes, messages)

    def summary(self) -> str:
        """One line: the count, the MySQL codes, and the commonest messages."""
        if not self.count:
            return "app logs: no warnings or errors"
        codes = ", ".join(f"{code}×{n}" for code, n in self.codes.most_common()) or "none"
        messages = "; ".join(f"{text!r}×{n}" for text, n in self.messages.most_common(4))
        return f"app logs: {self.count} warnings/errors; MySQL codes {codes}; {messages}"


def _record(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _shape(message: str) -> str:
    """A log message with its numbers blanked, so that one kind of event counts as one."""
    return re.sub(r"\d+", "N", message)[:160]
