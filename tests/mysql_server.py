"""A MariaDB/MySQL database for tests and benchmarks: given by TEST_MYSQL_URL, or made on the local server.

With TEST_MYSQL_URL set (`mysql://user:pass@host:port/db`), that database is used and
wiped: it must be one the tests own. Under pytest-xdist each worker uses its own, the
URL's name with the worker's after it (`db_gw0`, `db_gw1`…), which the URL's user must be
allowed to create (`.ci/run` grants the run's user every database named after its own).
Without it, a server that lets root in over its Unix socket gets a throwaway database and
user with unique names (other people may share the server), dropped again at the end.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import pymysql

SOCKETS = ("/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock")
# Tables that hold no data, only rows the migrations put there.
KEEP = {"migrations", "locks"}
COLLATION = "COLLATE utf8mb4_unicode_ci"


class NoServer(RuntimeError):
    """No MySQL server to test against; the message says why."""


def connect(url: str, **options: object) -> pymysql.Connection:
    """A plain driver connection to the database a URL names."""
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")),
        charset="utf8mb4",
        autocommit=True,
        **options,
    )


def _root() -> pymysql.Connection:
    reasons = []
    for socket in SOCKETS:
        if not os.path.exists(socket):
            continue
        try:
            return pymysql.connect(unix_socket=socket, user="root", autocommit=True)
        except pymysql.err.MySQLError as error:
            reasons.append(f"{socket}: {error}")
    raise NoServer(
        "no MySQL/MariaDB server for tests: set TEST_MYSQL_URL=mysql://user:pass@host:3306/db, or run a "
        "local server that lets root in over its socket (" + ("; ".join(reasons) or "no socket found") + ")"
    )


@dataclass
class ScratchDatabase:
    """A database the tests may wipe, and how to get rid of it afterwards."""

    url: str
    _created: tuple[str, str] | None = None
    _connection: pymysql.Connection | None = field(default=None, repr=False)
    _own_database: bool = False

    @classmethod
    def provide(cls, prefix: str = "answers_test", worker: str = "") -> ScratchDatabase:
        """Use TEST_MYSQL_URL (one database for each pytest-xdist worker), or make one on the local server."""
        if url := os.environ.get("TEST_MYSQL_URL", "").strip():
            if worker:
                parts = urlsplit(url)
                name = f"{unquote(parts.path.lstrip('/'))}_{worker}"
                with connect(parts._replace(path="/").geturl()) as server, server.cursor() as cursor:
                    cursor.execute(
                        f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 {COLLATION}"
                    )
                database = cls(parts._replace(path=f"/{name}").geturl(), _own_database=True)
            else:
                database = cls(url)
            database.drop_tables()
            return database
        root = _root()
        name = f"{prefix}_{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(18)
        with root.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            for host in ("localhost", "127.0.0.1"):
                cursor.execute(f"CREATE USER '{name}'@'{host}' IDENTIFIED BY %s", (password,))
                cursor.execute(f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{name}'@'{host}'")
        root.close()
        return cls(f"mysql://{name}:{password}@127.0.0.1:3306/{name}", (name, name))

    @property
    def connection(self) -> pymysql.Connection:
        if self._connection is not None:
            try:
                self._connection.ping(False)
            except pymysql.err.MySQLError:
                self._connection = None
        if self._connection is None:
            self._connection = connect(self.url)
        return self._connection

    def tables(self) -> list[str]:
        with self.connection.cursor() as cursor:
            cursor.execute("SHOW TABLES")
            return [row[0] for row in cursor.fetchall()]

    def _wipe(self, tables: list[str], *statements: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            for table in tables:
                for statement in statements:
                    cursor.execute(statement.format(table=table))
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")

    def used_tables(self) -> list[str]:
        """The tables holding a row, or whose next id is past 1."""
        tables = [table for table in self.tables() if table not in KEEP]
        if not tables:
            return []
        rows = " UNION ALL ".join(
            f"SELECT '{table}' FROM DUAL WHERE EXISTS (SELECT 1 FROM `{table}`)" for table in tables
        )
        with self.connection.cursor() as cursor:
            cursor.execute(rows)
            used = {row[0] for row in cursor.fetchall()}
            cursor.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = DATABASE() AND auto_increment > 1"
            )
            used |= {row[0] for row in cursor.fetchall()}
        return [table for table in tables if table in used]

    def empty(self) -> None:
        """Delete every row (ids start from 1 again), keeping the migrated schema: empties what was used.

        DELETE and the next id set back, not TRUNCATE: InnoDB makes a truncated table's file anew,
        which took twice as long for the few rows a test leaves.
        """
        self._wipe(self.used_tables(), "DELETE FROM `{table}`", "ALTER TABLE `{table}` AUTO_INCREMENT = 1")

    def drop_tables(self) -> None:
        """Drop every table, so the next app start migrates from nothing."""
        self._wipe(self.tables(), "DROP TABLE `{table}`")

    def remove(self) -> None:
        """Drop what was made for the tests (or only the tables, for a database given by URL)."""
        if self._created is None:
            self.drop_tables()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._own_database:
            parts = urlsplit(self.url)
            with connect(parts._replace(path="/").geturl()) as server, server.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{unquote(parts.path.lstrip('/'))}`")
        if self._created is None:
            return
        name, user = self._created
        root = _root()
        with root.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            for host in ("localhost", "127.0.0.1"):
                cursor.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
        root.close()
