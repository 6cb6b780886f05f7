"""A throwaway three-node MariaDB Galera cluster on 127.0.0.1, behind HAProxy.

Each node has its own datadir, socket and ports under one folder, so the machine's own
MariaDB (port 3306) is never disturbed. The cluster can lose a node (`kill -9`), take it
back (it rejoins by IST), say which node a connection is on, and disappear without a trace.

`python -m tests.cluster.galera` starts one by hand and prints its address until Ctrl-C.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import pymysql

from tests.cluster.haproxy import Proxy
from tests.cluster.processes import ClusterError, end_group, free_ports, spawn, wait_for, which

GALERA_LIBRARY = Path("/usr/lib/galera/libgalera_smm.so")
SYNCED = "4"  # wsrep_local_state: the node has caught up with the cluster
INSTALL_HINT = "apt-get install mariadb-server galera-4 haproxy rsync iproute2"
# As root, the nodes run as `mysql`, as the packaged server does: the rsync SST daemon
# started by root drops to `nobody`, which could not write a root-owned datadir.
RUN_AS = "mysql" if os.geteuid() == 0 else None


def missing_software() -> list[str]:
    """What this machine lacks to run the cluster (empty when everything is there)."""
    programs = ("mariadbd", "mariadb-install-db", "haproxy", "rsync", "setpriv")
    missing = [name for name in programs if not which(name)]
    if not GALERA_LIBRARY.exists():
        missing.append(str(GALERA_LIBRARY))
    if not (which("ss") or which("lsof")):
        missing.append("ss or lsof (the rsync SST script looks up its daemon with one of them)")
    if RUN_AS is not None:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            missing.append(f"the {RUN_AS} user")
    return missing


@dataclass
class Account:
    """A database and the user that owns it."""

    user: str
    password: str
    database: str


@dataclass
class Node:
    """One mariadbd with wsrep on: its folder, its four ports, and its process when running."""

    name: str
    folder: Path
    port: int
    gcomm_port: int
    ist_port: int
    sst_port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    killed_at: float = 0.0  # time.monotonic() of the last kill
    log_start: int = 0  # where the current run begins in the error log

    @property
    def datadir(self) -> Path:
        return self.folder / "data"

    @property
    def tmpdir(self) -> Path:
        return self.folder / "tmp"

    @property
    def socket(self) -> Path:
        return self.folder / "mysqld.sock"

    @property
    def config(self) -> Path:
        return self.folder / "my.cnf"

    @property
    def error_log(self) -> Path:
        return self.folder / "error.log"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def install(self) -> subprocess.Popen[bytes]:
        """Begin creating the system tables in an empty datadir (the caller waits)."""
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        if RUN_AS is not None:
            for folder in (self.folder, self.tmpdir):
                shutil.chown(folder, RUN_AS, RUN_AS)
        command = [
            which("mariadb-install-db") or "mariadb-install-db",
            "--no-defaults",
            f"--datadir={self.datadir}",
            # Root without a password, reachable only through the socket in our private folder.
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--innodb-log-file-size=8M",
            "--innodb-buffer-pool-size=32M",
            # A private tmpdir: three installs at once in a shared /tmp trip over each other's
            # temporary tables.
            f"--tmpdir={self.tmpdir}",
        ]
        return spawn(command, self.folder / "install.log", user=RUN_AS)

    def write_config(self, cluster_name: str, peers: list[Node]) -> None:
        """Write this node's option file: its own ports and paths, and where its peers are."""
        members = ",".join(f"127.0.0.1:{peer.gcomm_port}" for peer in peers)
        provider = (
            f"gmcast.listen_addr=tcp://127.0.0.1:{self.gcomm_port};ist.recv_addr=127.0.0.1:{self.ist_port}"
        )
        lines = [
            "[mysqld]",
            f"datadir = {self.datadir}",
            f"socket = {self.socket}",
            f"pid-file = {self.folder / 'mysqld.pid'}",
            f"tmpdir = {self.tmpdir}",
            f"log-error = {self.error_log}",
            f"port = {self.port}",
            "bind-address = 127.0.0.1",
            "skip-name-resolve",
            # Light: three nodes share a small machine with the app and its load.
            "innodb_buffer_pool_size = 32M",
            "innodb_log_file_size = 8M",
            "performance_schema = OFF",
            "max_connections = 300",
            # What Galera requires: row events, interleaved auto-increment locks.
            "binlog_format = ROW",
            "default_storage_engine = InnoDB",
            "innodb_autoinc_lock_mode = 2",
            # A commit is durable on the other nodes; flushing each one locally too would only
            # slow the cluster.
            "innodb_flush_log_at_trx_commit = 2",
            "wsrep_on = ON",
            f"wsrep_provider = {GALERA_LIBRARY}",
            f"wsrep_cluster_name = {cluster_name}",
            f"wsrep_cluster_address = gcomm://{members}",
            f"wsrep_node_name = {self.name}",
            f"wsrep_node_address = 127.0.0.1:{self.gcomm_port}",
            f"wsrep_node_incoming_address = 127.0.0.1:{self.port}",
            "wsrep_sst_method = rsync",
            f"wsrep_sst_receive_address = 127.0.0.1:{self.sst_port}",
            f'wsrep_provider_options = "{provider};gcache.size=32M"',
        ]
        self.config.write_text("\n".join(lines) + "\n")

    def start(self, bootstrap: bool = False, position: str | None = None) -> None:
        """Start mariadbd: `bootstrap` makes it a new cluster's first node; `position` is where it stopped."""
        command = [which("mariadbd") or "mariadbd", f"--defaults-file={self.config}"]
        if bootstrap:
            command.append("--wsrep-new-cluster")
        if position is not None:
            command.append(f"--wsrep-start-position={position}")
        self.log_start = self.log_size()
        self.process = spawn(command, self.folder / "mariadbd.out", user=RUN_AS)

    def recover_position(self, timeout: float = 60) -> str:
        """Read the last committed position from InnoDB after a crash (what `galera_recovery` does).

        A crashed node's grastate.dat says seqno -1; started with that, it would ask for a
        full copy (SST). Given the position recovered here it asks only for what it missed (IST).
        """
        log = self.folder / "recover.log"
        log.unlink(missing_ok=True)
        command = [
            which("mariadbd") or "mariadbd",
            f"--defaults-file={self.config}",
            "--wsrep-recover",
            f"--log-error={log}",
        ]
        process = spawn(command, self.folder / "mariadbd.out", user=RUN_AS)
        try:
            process.wait(timeout=timeout)
        finally:
            end_group(process)
        found = re.search(
            r"WSREP: Recovered position: (\S+)", log.read_text(errors="replace") if log.exists() else ""
        )
        if found is None:
            raise ClusterError(f"{self.name}: --wsrep-recover found no position; see {log}")
        return found.group(1)

    def kill(self) -> None:
        """Crash the node: SIGKILL to mariadbd alone, no shutdown of any kind."""
        if self.process is not None and self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.killed_at = time.monotonic()

    def stop(self) -> None:
        """Kill the node and whatever it started."""
        end_group(self.process)
        self.process = None

    def connect(self, **options: object) -> pymysql.Connection:
        """A root connection over the node's own socket (not through HAProxy)."""
        return pymysql.connect(
            unix_socket=str(self.socket),
            user="root",
            autocommit=True,
            connect_timeout=2,
            charset="utf8mb4",
            **options,
        )

    def query(
        self, sql: str, params: tuple[object, ...] = (), causal: bool = False
    ) -> list[tuple[object, ...]]:
        """Run a statement on this node and return its rows; `causal` first waits for every earlier commit."""
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                if causal:
                    cursor.execute("SET SESSION wsrep_sync_wait = 1")
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def status(self) -> dict[str, str]:
        """The node's wsrep status variables, or {} while it cannot answer."""
        if not self.alive:
            return {}
        try:
            rows = self.query("SHOW GLOBAL STATUS LIKE 'wsrep_%%'")
        except pymysql.err.MySQLError:
            return {}
        return {str(name): str(value) for name, value in rows}

    def synced(self, cluster_size: int) -> bool:
        """Whether the node serves queries, is caught up, and sees the whole cluster."""
        status = self.status()
        return (
            status.get("wsrep_ready") == "ON"
            and status.get("wsrep_local_state") == SYNCED
            and status.get("wsrep_cluster_status") == "Primary"
            and status.get("wsrep_cluster_size") == str(cluster_size)
        )

    def log_since(self, offset: int) -> str:
        """The error log written after `offset` bytes."""
        with self.error_log.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.error_log.stat().st_size if self.error_log.exists() else 0

    def describe_failure(self) -> str:
        """The end of the node's error log, to explain why it did not come up."""
        tail = self.log_since(max(self.log_size() - 3000, 0)) if self.error_log.exists() else "(no error log)"
        state = "running" if self.alive else f"exited with {self.process.returncode if self.process else '-'}"
        return f"{self.name} ({state}), end of {self.error_log}:\n{tail}"


@dataclass
class Rejoin:
    """How a restarted node came back: how long after its crash, and how it got the writes it missed."""

    node: str
    seconds: float
    transfer: str  # "IST" (only the missed writes) or "SST" (a full copy)


class Cluster:
    """Three Galera nodes plus HAProxy, all on 127.0.0.1 under one folder."""

    def __init__(self, folder: Path, size: int = 3, name: str = "answers_test") -> None:
        self.folder = folder
        if RUN_AS is not None:
            folder.chmod(0o711)  # the nodes' user must reach its own folder inside
        self.name = name
        ports = free_ports(size * 4)
        self.nodes = [
            Node(f"node{number}", folder / f"node{number}", *ports[index * 4 : index * 4 + 4])
            for index, number in enumerate(range(1, size + 1))
        ]
        self.proxy = Proxy(folder / "haproxy", self.nodes)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, timeout: float = 120) -> None:
        """Create the datadirs, bootstrap the first node, join the others, then put HAProxy in front."""
        self._install()
        first, *others = self.nodes
        for node in self.nodes:
            node.write_config(self.name, self.nodes)
        first.start(bootstrap=True)
        self._wait_synced([first], 1, timeout)
        for node in others:
            node.start()
        self._wait_synced(self.nodes, len(self.nodes), timeout)
        self.proxy.start(self._monitor_account())
        self.proxy.wait_until_up({node.name for node in self.nodes}, timeout=30)

    def _install(self) -> None:
        installs = [(node, node.install()) for node in self.nodes]
        for node, process in installs:
            if process.wait(timeout=120) != 0:
                raise ClusterError(
                    f"mariadb-install-db failed for {node.name}:\n"
                    + (node.folder / "install.log").read_text(errors="replace")[-3000:]
                )

    def _wait_synced(self, nodes: list[Node], size: int, timeout: float) -> None:
        def ready() -> bool:
            for node in nodes:
                if not node.alive:
                    raise ClusterError(f"{node.name} exited while starting\n{node.describe_failure()}")
            return all(node.synced(size) for node in nodes)

        try:
            wait_for(
                f"{', '.join(node.name for node in nodes)} to be Synced in a cluster of {size}",
                ready,
                timeout,
            )
        except ClusterError as error:
            details = "\n\n".join(node.describe_failure() for node in nodes if not node.synced(size))
            raise ClusterError(f"{error}\n{details}") from None

    def _monitor_account(self) -> Account:
        # The health check logs in like any client would, over TCP, with nothing but USAGE.
        account = Account("clustercheck", secrets.token_urlsafe(18), "")
        self.nodes[0].query(f"CREATE USER '{account.user}'@'127.0.0.1' IDENTIFIED BY %s", (account.password,))
        return account

    def create_database(self, name: str) -> Account:
        """Create a database and a user of its own (replicated to every node); return how to log in."""
        account = Account(name, secrets.token_urlsafe(18), name)
        node = self.running_node()
        node.query(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        node.query(f"CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY %s", (account.password,))
        node.query(f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{name}'@'127.0.0.1'")
        return account

    def url(self, account: Account) -> str:
        """The address an app is given: HAProxy's single port, never a node's own."""
        return f"mysql://{account.user}:{account.password}@127.0.0.1:{self.proxy.port}/{account.database}"

    def running_node(self) -> Node:
        """Some node that is up (the first one, unless it was killed)."""
        return next(node for node in self.nodes if node.alive)

    def node_named(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def node_of(self, connection: pymysql.Connection) -> Node:
        """The node a connection (typically one through HAProxy) is served by."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@wsrep_node_name")
            (name,) = cursor.fetchone()
        return self.node_named(str(name))

    def sessions_per_node(self, user: str) -> dict[str, int]:
        """How many connections a user holds on each running node, read on each node itself."""
        counts = {}
        for node in self.nodes:
            if node.alive:
                rows = node.query(
                    "SELECT COUNT(*) FROM information_schema.processlist WHERE user = %s", (user,)
                )
                counts[node.name] = int(rows[0][0])
        return counts

    def kill(self, node: Node) -> None:
        """Crash a node with SIGKILL (the others keep a majority and go on)."""
        node.kill()

    def wait_evicted(self, node: Node, timeout: float = 60) -> None:
        """Wait until the other nodes have dropped a crashed node from their view (evs.suspect_timeout, 5 s).

        A node restarted before that finds its old self still in the view and takes
        many seconds longer to rejoin; a real crashed server is rarely back that fast.
        """
        survivors = [other for other in self.nodes if other is not node]
        self._wait_synced(survivors, len(survivors), timeout)

    def restart(self, node: Node) -> None:
        """Start a crashed node again from where it stopped; it rejoins on its own (see `wait_rejoined`)."""
        node.start(position=node.recover_position())

    def wait_rejoined(self, node: Node, timeout: float = 90) -> Rejoin:
        """Wait until a restarted node is Synced and HAProxy sends sessions to it again."""
        self._wait_synced(self.nodes, len(self.nodes), timeout)
        self.proxy.wait_until_up({n.name for n in self.nodes}, timeout=60)
        # The rsync script runs on every join; it says which transfer it ended up doing.
        transfer = "SST" if "rsync SST completed on joiner" in node.log_since(node.log_start) else "IST"
        return Rejoin(node.name, time.monotonic() - node.killed_at, transfer)

    def stop(self) -> None:
        """Stop HAProxy and every node, and remove the datadirs (the logs stay)."""
        self.proxy.stop()
        for node in self.nodes:
            node.stop()
            shutil.rmtree(node.datadir, ignore_errors=True)


def _stop_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    """Start a cluster in a temporary folder and keep it until Ctrl-C (or SIGTERM)."""
    # Set explicitly: a shell starting this in the background leaves SIGINT ignored.
    for name in (signal.SIGINT, signal.SIGTERM):
        signal.signal(name, _stop_on_signal)
    folder = Path(tempfile.mkdtemp(prefix="galera-"))
    try:
        with Cluster(folder) as cluster:
            account = cluster.create_database("answers")
            print(f"DATABASE_URL={cluster.url(account)}")
            for node in cluster.nodes:
                print(f"{node.name}: port {node.port}, socket {node.socket}, log {node.error_log}")
            print(
                f"HAProxy: port {cluster.proxy.port}, log {cluster.proxy.log}; Ctrl-C stops everything",
                flush=True,
            )
            signal.pause()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
