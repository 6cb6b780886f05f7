"""HAProxy in front of the Galera nodes: one TCP port, sessions only to Synced nodes, fast failover."""

from __future__ import annotations

import csv
import io
import os
import socket
import sys
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from tests.cluster.processes import ClusterError, end_group, free_ports, spawn, wait_for, which

if TYPE_CHECKING:
    import subprocess

    from tests.cluster.galera import Account, Node

ROOT = Path(__file__).resolve().parents[2]

# A node is out after two failed checks half a second apart (about a second), and its
# sessions are cut at once, so clients reconnect to a live node instead of waiting on a dead one.
CONFIG = """\
global
    maxconn 2000
    stats socket {stats_socket} mode 600 level admin

defaults
    mode tcp
    timeout connect 2s
    timeout check 1s
    timeout client 10m
    timeout server 10m

frontend mysql
    bind 127.0.0.1:{port}
    default_backend galera

backend galera
    balance leastconn
    option httpchk
    http-check send meth GET uri /
    http-check expect status 200
    default-server check inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""


def check_passes(port: int) -> bool:
    """Whether the clustercheck responder on this port says its node may take sessions."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
            return True
    except OSError:  # refused, or HTTPError for a 503
        return False


class Proxy:
    """HAProxy plus the clustercheck responder its health checks ask."""

    def __init__(self, folder: Path, nodes: list[Node]) -> None:
        self.folder = folder
        self.nodes = nodes
        self.port, *ports = free_ports(1 + len(nodes))
        self.check_ports = {node.name: port for node, port in zip(nodes, ports, strict=True)}
        self.log = folder / "haproxy.log"
        self.stats_socket = folder / "haproxy.sock"
        self._haproxy: subprocess.Popen[bytes] | None = None
        self._checker: subprocess.Popen[bytes] | None = None

    def start(self, monitor: Account) -> None:
        """Start the health responder, then HAProxy (in the foreground, as a child of ours)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        pairs = [f"{self.check_ports[node.name]}={node.port}" for node in self.nodes]
        env = {**os.environ, "CLUSTERCHECK_USER": monitor.user, "CLUSTERCHECK_PASSWORD": monitor.password}
        self._checker = spawn(
            [sys.executable, "-m", "tests.cluster.clustercheck", *pairs],
            self.folder / "clustercheck.log",
            env={**env, "PYTHONPATH": str(ROOT)},
        )
        # HAProxy counts a server UP until its checks say otherwise, so the checks must work first.
        wait_for("the clustercheck responder to pass every node", self._checks_pass, timeout=60)
        config = self.folder / "haproxy.cfg"
        config.write_text(
            CONFIG.format(stats_socket=self.stats_socket, port=self.port, servers=self._servers())
        )
        self._haproxy = spawn([which("haproxy") or "haproxy", "-db", "-f", str(config)], self.log)

    def _servers(self) -> str:
        return "\n".join(
            f"    server {node.name} 127.0.0.1:{node.port} port {self.check_ports[node.name]}"
            for node in self.nodes
        )

    def _checks_pass(self) -> bool:
        if self._checker is None or self._checker.poll() is not None:
            raise ClusterError(f"the clustercheck responder exited; see {self.folder / 'clustercheck.log'}")
        return all(check_passes(port) for port in self.check_ports.values())

    def servers(self) -> dict[str, str]:
        """Each node's state as HAProxy sees it: UP, DOWN, or on its way ("UP 1/2", "DOWN 1/2")."""
        with socket.socket(socket.AF_UNIX) as stats:
            stats.settimeout(2)
            stats.connect(str(self.stats_socket))
            stats.sendall(b"show stat\n")
            data = b""
            while chunk := stats.recv(65536):
                data += chunk
        rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
        return {
            row["svname"]: row["status"]
            for row in rows
            if row["pxname"] == "galera" and row["svname"] != "BACKEND"
        }

    def wait_until_up(self, names: set[str], timeout: float) -> None:
        """Wait until HAProxy would send sessions to every node named."""
        self.wait_until(dict.fromkeys(names, "UP"), timeout)

    def wait_until(self, wanted: dict[str, str], timeout: float) -> None:
        """Wait until HAProxy sees each named node in the state given (UP or DOWN)."""

        def reached() -> bool:
            if self._haproxy is None or self._haproxy.poll() is not None:
                raise ClusterError(f"HAProxy is not running; see {self.log}")
            try:
                states = self.servers()
            except OSError:
                return False
            return all(states.get(name) == state for name, state in wanted.items())

        described = ", ".join(f"{name} {state}" for name, state in sorted(wanted.items()))
        wait_for(f"HAProxy to see {described}", reached, timeout, interval=0.1)

    def stop(self) -> None:
        """Stop HAProxy and the health responder."""
        end_group(self._haproxy)
        end_group(self._checker)
        self._haproxy = self._checker = None
