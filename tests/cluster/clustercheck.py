"""A clustercheck responder: HTTP 200 for a Galera node that is ready and Synced, 503 otherwise.

HAProxy asks it about each node (`option httpchk` on the node's check port). Its plain
mysql-check would not do: a node cut off from its peers still accepts logins, then fails
every query with error 1047 (WSREP has not yet prepared node for application use).

Usage: CLUSTERCHECK_USER=… CLUSTERCHECK_PASSWORD=… python -m tests.cluster.clustercheck CHECK_PORT=NODE_PORT …
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql

SYNCED = "4"


def connect(port: int, user: str, password: str) -> pymysql.connections.Connection:
    """A session on the node on this port."""
    return pymysql.connect(
        host="127.0.0.1", port=port, user=user, password=password, connect_timeout=1, read_timeout=1
    )


def node_state(connection: pymysql.connections.Connection) -> tuple[bool, str]:
    """Whether the node of this session may take sessions, and why (in words for the log)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state')")
        status = dict(cursor.fetchall())
    ready, state = status.get("wsrep_ready"), status.get("wsrep_local_state")
    return ready == "ON" and state == SYNCED, f"wsrep_ready={ready} wsrep_local_state={state}"


class Check(BaseHTTPRequestHandler):
    """Answers any GET with the state of the node this server watches."""

    server: Watch

    def do_GET(self) -> None:
        healthy, reason = self.server.state()
        body = f"{reason}\n".encode()
        self.send_response(200 if healthy else 503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # several checks a second would drown the log


class Watch(ThreadingHTTPServer):
    """One check port, watching one node through one session, made again whenever it fails.

    A session kept open, not one per check: six checks a second made it most of the Galera suite's CPU
    after the nodes' own.
    """

    daemon_threads = True

    def __init__(self, check_port: int, node_port: int, user: str, password: str) -> None:
        super().__init__(("127.0.0.1", check_port), Check)
        self.node_port, self.user, self.password = node_port, user, password
        self.session: pymysql.connections.Connection | None = None
        self.lock = threading.Lock()

    def state(self) -> tuple[bool, str]:
        """The node's state, asked on the kept session; once more on a new one if that fails."""
        with self.lock:
            try:
                return node_state(self._session())
            except pymysql.err.MySQLError:
                self._drop()
            try:
                return node_state(self._session())
            except pymysql.err.MySQLError as error:
                self._drop()
                return False, f"the node does not answer: {error}"

    def _session(self) -> pymysql.connections.Connection:
        if self.session is None:
            self.session = connect(self.node_port, self.user, self.password)
        return self.session

    def _drop(self) -> None:
        if self.session is not None and self.session.open:  # a lost session is closed already
            self.session.close()
        self.session = None


def main(argv: list[str]) -> int:
    """Serve every CHECK_PORT=NODE_PORT pair given until SIGTERM."""
    user, password = os.environ["CLUSTERCHECK_USER"], os.environ["CLUSTERCHECK_PASSWORD"]
    for pair in argv:
        check_port, node_port = (int(part) for part in pair.split("="))
        watch = Watch(check_port, node_port, user, password)
        threading.Thread(target=watch.serve_forever, daemon=True).start()
    print(f"clustercheck on {', '.join(argv)}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
