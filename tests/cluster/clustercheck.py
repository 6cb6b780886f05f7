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


def node_state(port: int, user: str, password: str) -> tuple[bool, str]:
    """Whether the node on this port may take sessions, and why (in words for the log)."""
    try:
        connection = pymysql.connect(
            host="127.0.0.1", port=port, user=user, password=password, connect_timeout=1, read_timeout=1
        )
    except pymysql.err.MySQLError as error:
        return False, f"cannot reach the node: {error}"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state')")
            status = dict(cursor.fetchall())
    except pymysql.err.MySQLError as error:
        return False, f"the node does not answer: {error}"
    finally:
        connection.close()
    ready, state = status.get("wsrep_ready"), status.get("wsrep_local_state")
    return ready == "ON" and state == SYNCED, f"wsrep_ready={ready} wsrep_local_state={state}"


class Check(BaseHTTPRequestHandler):
    """Answers any GET with the state of the node this server watches."""

    server: Watch

    def do_GET(self) -> None:
        healthy, reason = node_state(self.server.node_port, self.server.user, self.server.password)
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
    """One check port, watching one node."""

    daemon_threads = True

    def __init__(self, check_port: int, node_port: int, user: str, password: str) -> None:
        super().__init__(("127.0.0.1", check_port), Check)
        self.node_port, self.user, self.password = node_port, user, password


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
