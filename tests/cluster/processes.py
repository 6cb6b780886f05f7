"""Starting, waiting for and ending the cluster's helper processes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

# Server binaries live in sbin, which a non-root PATH often leaves out.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])


class ClusterError(RuntimeError):
    """The cluster did not reach the state asked of it; the message says what it saw."""


def which(name: str) -> str | None:
    """The path of a program, looking in sbin too."""
    return shutil.which(name, path=SEARCH_PATH)


def free_ports(count: int) -> list[int]:
    """Distinct ports nobody listens on right now (all held open at once, so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def spawn(
    command: list[str], log: Path, env: dict[str, str] | None = None, user: str | None = None
) -> subprocess.Popen[bytes]:
    """Start a helper in a process group of its own (as `user`, if given), bound to die with this process."""
    # setpriv's parent-death signal: a test run killed outright (a CI timeout) leaves no servers
    # behind. It fires when the *thread* that started the child ends, so only the main thread may.
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("cluster processes must be started from the main thread")
    with log.open("ab") as output:
        return subprocess.Popen(
            [which("setpriv") or "setpriv", "--pdeathsig", "KILL", "--", *command],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            user=user,
        )


def end_group(process: subprocess.Popen[bytes] | None) -> None:
    """Kill a process started by `spawn` and everything it started (SST scripts, rsync daemons)."""
    if process is None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def wait_for(what: str, ready: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
    """Poll until `ready()` holds, or raise ClusterError naming what never happened."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise ClusterError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
