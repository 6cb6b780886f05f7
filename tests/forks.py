"""`python -m app` without its start-up: app processes forked from one that has imported the app once.

A test's app process used to spend most of its CPU importing the app again (a second of it, on a
busy machine several of wall time). Instead each test process (each pytest-xdist worker) starts
one forker, `python -m tests.forks`, which imports `app.__main__`, does once what each app would
do again (`warm_up`), leaves nothing running (no thread, no event loop), and then forks a child for
every app asked of it: the child takes the environment, working folder and log it was given and
runs `app.__main__.main()`, as `python -m app` would.

Run by hand: `python -m tests.forks` reads one JSON request a line on stdin
(`{"env": {...}, "cwd": "...", "log": "..."}`) and answers each with the child's pid.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from jinja2 import Environment
from quart import Quart
from werkzeug.routing import Rule

from tests import warm

ROOT = Path(__file__).resolve().parents[1]


class ForkedApp:
    """An app process forked by the forker: what the tests use of `subprocess.Popen`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        # A pidfd turns readable when the process ends, though it is not our child.
        self._ended = os.pidfd_open(pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """None while the process runs; once it has ended, a code (the forker keeps the real one)."""
        if self.returncode is None and select.select([self._ended], [], [], 0)[0]:
            self._close(-1)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the process to end, raising `subprocess.TimeoutExpired` after `timeout` seconds."""
        if self.returncode is None:
            if not select.select([self._ended], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"app process {self.pid}", timeout or 0)
            self._close(-1)
        return self.returncode or 0

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        if self.poll() is None:
            try:
                signal.pidfd_send_signal(self._ended, number)
            except ProcessLookupError:
                pass  # it ended meanwhile

    def _close(self, code: int) -> None:
        self.returncode = code
        os.close(self._ended)


class Forker:
    """The forker process of this test process, started on first need."""

    _running: Forker | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.forks"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        atexit.register(self.stop)

    def stop(self) -> None:
        """Close its input, and wait for it (and so for the apps it forked) to end."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()

    @classmethod
    def start(cls, env: dict[str, str], cwd: Path, log: Path) -> ForkedApp:
        """A new app process with this environment, working folder and log (stdout and stderr)."""
        with cls._lock:
            if cls._running is None or cls._running.process.poll() is not None:
                cls._running = cls()
            process = cls._running.process
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps({"env": env, "cwd": str(cwd), "log": str(log)}) + "\n")
            process.stdin.flush()
            answer = process.stdout.readline()
        if not answer.strip().isdigit():
            raise RuntimeError(f"the forker did not start the app: {answer!r}")
        return ForkedApp(int(answer))


def _child(request: dict[str, str]) -> None:
    """In the forked child: become `python -m app` with the request's environment, folder and log."""
    from app import __main__ as app_main

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the app waits for children of its own
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    code = 1
    try:
        code = app_main.main([])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def warm_up() -> None:
    """Do here, once, what every served app would do again: load the openai SDK (0.55 s of CPU),
    compress the static files (0.15 s), compile the URL builders and the templates (0.4 s)."""
    import app.model.openai  # noqa: F401  (the SDK an app loads for its first question)
    from app import create_app
    from app.config import Config
    from app.web.assets import Assets

    Assets(ROOT / "static").compress_best()
    Rule._compile_builder = warm.route_builders_once(Rule._compile_builder)
    make_environment = Quart.create_jinja_environment

    def with_compiled_templates(app: Quart) -> Environment:
        environment = make_environment(app)
        environment.bytecode_cache = warm.COMPILED_TEMPLATES
        return environment

    Quart.create_jinja_environment = with_compiled_templates
    with tempfile.TemporaryDirectory() as instance:
        config = Config(secret_key="a key to warm the templates with", instance_path=Path(instance))
        environment = create_app(config).jinja_env
        for name in environment.list_templates():
            environment.get_template(name)
    # The app's own compression thread found every file compressed already.
    for thread in threading.enumerate():
        if thread is not threading.current_thread():
            thread.join()


def serve() -> None:
    """Import the app, then fork a child for each request read from stdin; end with stdin."""
    import app.__main__  # noqa: F401  (the point: imported once, before any fork)

    warm_up()
    if threading.active_count() != 1:
        raise RuntimeError("importing the app started a thread: forking it would be unsafe")
    # Children are reaped here, so that their CPU time counts in this process's (and the run's);
    # the tests see them end through a pidfd.
    signal.signal(signal.SIGCHLD, _reap)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()
    # The test process has ended: wait for the apps it left (it stops them; an app ends in 15 s).
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        while os.wait():
            pass
    except ChildProcessError:
        pass


def _reap(number: int, frame: object) -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


if __name__ == "__main__":
    serve()
