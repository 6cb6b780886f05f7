"""The Galera suite: one real three-node cluster behind HAProxy for the whole run, and the fake model."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster import figures
from tests.cluster.apps import ModelServer
from tests.cluster.galera import INSTALL_HINT, Cluster, missing_software


# Package scope: the cluster is gone before the browser tests, which run last and are timing-sensitive.
@pytest.fixture(scope="package")
def galera(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A running cluster (three Synced nodes behind HAProxy), always torn down after this folder's tests."""
    if missing := missing_software():
        message = f"the Galera cluster tests need {', '.join(missing)}; install them with: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    # Not pytest's tmp_path: that folder is private to this user, and as root the nodes run as `mysql`.
    folder = Path(tempfile.mkdtemp(prefix="answers-galera-"))
    started = time.monotonic()
    with Cluster(folder) as cluster:
        figures.report(
            "cluster", f"cluster: 3 nodes Synced behind HAProxy in {time.monotonic() - started:.1f} s"
        )
        yield cluster
    if request.session.testsfailed:
        figures.report("logs", f"cluster logs kept in {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    """The fake model in a process of its own."""
    server = ModelServer(tmp_path_factory.mktemp("model"))
    yield server
    server.stop()
