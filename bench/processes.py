"""Child processes the benchmarks start and measure: the fake model, the app, baselines."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of a process from /proc (VmRSS now, VmHWM peak), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    """The processes a process started (Hypercorn's workers, for its master)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def wait_for(url: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> float:
    """Poll a URL until it answers 200; return how long that took."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.01)
    raise TimeoutError(url)


class Child:
    """A child process that is stopped when the block ends."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> None:
        self.log = log
        output = log.open("w") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=output, stderr=subprocess.STDOUT
        )
        self.pid = self.process.pid

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class FakeModel(Child):
    """The project's fake OpenAI-compatible server in its own process."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        super().__init__([sys.executable, "-m", "tests.fake_llm", "--port", str(self.port)], log=log)
        wait_for(f"{self.url}/models", process=self.process)

    def configure(self, **behavior: object) -> None:
        """Reset the model, then set how it answers from now on."""
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{self.port}/_fake/reset", method="POST")
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/_fake/behavior",
            data=json.dumps(behavior).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request).read()


def app_env(model_url: str, folder: Path, port: int) -> dict[str, str]:
    """The settings of a benchmarked app: the fake model, its own SQLite database, no per-client caps."""
    return {
        "PORT": str(port),
        "INSTANCE_PATH": str(folder),
        "LLM_BASE_URL": model_url,
        "OPENAI_API_KEY": "bench",
        "LLM_MODEL": "fake-model",
        "DATABASE_URL": f"sqlite:///{folder / 'answers.db'}",
        # Every simulated browser shares 127.0.0.1: lift the per-client limits (docs/configuration.md).
        "ASK_RATE_LIMIT": "1000000/minute",
        "MAX_STREAMS_PER_CLIENT": "1000000",
    }


class App(Child):
    """`python -m app` (one worker) on a free port with its own SQLite database, timed to its first 200."""

    def __init__(self, model_url: str, folder: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        super().__init__(
            [sys.executable, "-m", "app"],
            env=app_env(model_url, folder, self.port) | env,
            log=folder / "app.log",
        )
        wait_for(f"{self.url}/healthz", process=self.process)
        self.startup_seconds = time.perf_counter() - started
        self.workers = [self.pid]


class Workers(Child):
    """The production image's command: Hypercorn's master and WEB_CONCURRENCY workers (Dockerfile's CMD)."""

    def __init__(self, model_url: str, folder: Path, workers: int = 2, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        super().__init__(
            [
                str(Path(sys.executable).with_name("hypercorn")),
                "--config",
                "file:deploy/hypercorn_config.py",
                "app:create_app()",
            ],
            env=app_env(model_url, folder, self.port) | {"WEB_CONCURRENCY": str(workers)} | env,
            log=folder / "app.log",
        )
        wait_for(f"{self.url}/healthz", process=self.process)
        deadline = time.monotonic() + 30
        while len(children(self.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.05)
        self.workers = children(self.pid)
        # Every worker up: each answers its own first request (the kernel shares the connections out).
        for _ in range(4 * workers):
            wait_for(f"{self.url}/healthz", process=self.process)
