"""HAProxy in front of the cluster: sessions spread over the nodes, and only over Synced ones."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pymysql
import pytest

from tests.cluster import figures
from tests.cluster.galera import Account, Cluster

SESSIONS = 6


@pytest.fixture(scope="module")
def account(galera: Cluster) -> Account:
    return galera.create_database("answers_proxy")


@pytest.fixture
def sessions(galera: Cluster, account: Account) -> Iterator[list[pymysql.Connection]]:
    """A few sessions opened through HAProxy at once, as a pool would."""
    opened: list[pymysql.Connection] = []
    try:
        for _ in range(SESSIONS):
            opened.append(
                pymysql.connect(
                    host="127.0.0.1",
                    port=galera.proxy.port,
                    user=account.user,
                    password=account.password,
                    database=account.database,
                    connect_timeout=5,
                )
            )
        yield opened
    finally:
        for connection in opened:
            connection.close()


def test_sessions_spread_over_every_node(galera: Cluster, sessions: list[pymysql.Connection]) -> None:
    assert {galera.node_of(connection).name for connection in sessions} == {
        node.name for node in galera.nodes
    }


def test_a_node_that_is_not_synced_gets_no_sessions(galera: Cluster, account: Account) -> None:
    # A desynced node still accepts logins and queries, so only a wsrep-aware check can tell.
    node = galera.nodes[1]
    node.query("SET GLOBAL wsrep_desync = ON")
    try:
        started = time.monotonic()
        galera.proxy.wait_until({node.name: "DOWN"}, timeout=30)
        figures.report("desync", f"HAProxy dropped a desynced node in {time.monotonic() - started:.1f} s")
        connections = [
            pymysql.connect(
                host="127.0.0.1",
                port=galera.proxy.port,
                user=account.user,
                password=account.password,
                database=account.database,
            )
            for _ in range(SESSIONS)
        ]
        try:
            assert node.name not in {galera.node_of(connection).name for connection in connections}
        finally:
            for connection in connections:
                connection.close()
    finally:
        node.query("SET GLOBAL wsrep_desync = OFF")
    galera.proxy.wait_until_up({node.name}, timeout=30)
