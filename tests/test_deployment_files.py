"""The production server settings and the logging setting, as the container reads them."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypercorn.config import Config as HypercornConfig

from app.config import Config, ConfigError

HYPERCORN_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "hypercorn_config.py"


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> HypercornConfig:
    for name in ("PORT", "WEB_CONCURRENCY", "WORKERS", "GRACEFUL_TIMEOUT", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return HypercornConfig.from_pyfile(HYPERCORN_CONFIG)


def test_defaults_serve_port_5000_with_two_workers_and_no_access_log(monkeypatch):
    server = load(monkeypatch)
    assert server.bind == ["0.0.0.0:5000"]
    assert server.workers == 2
    assert server.graceful_timeout == 120
    assert server.accesslog is None


def test_workers_port_and_grace_come_from_the_environment(monkeypatch):
    server = load(monkeypatch, PORT="8080", WEB_CONCURRENCY="5", GRACEFUL_TIMEOUT="30")
    assert (server.bind, server.workers, server.graceful_timeout) == (["0.0.0.0:8080"], 5, 30)
    assert load(monkeypatch, WORKERS="3").workers == 3


def test_settings_reach_spawned_workers(monkeypatch):
    # Hypercorn pickles its settings into each worker process.
    server = pickle.loads(pickle.dumps(load(monkeypatch, WEB_CONCURRENCY="4")))
    assert server.workers == 4 and server.errorlog.name == "hypercorn.error"


def test_metrics_folder_starts_empty(monkeypatch, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"old run")
    load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(folder))
    assert folder.is_dir() and not any(folder.iterdir())


def test_log_level_is_checked(tmp_path):
    assert Config.from_env({"LOG_LEVEL": "debug", "INSTANCE_PATH": str(tmp_path)}).log_level == "DEBUG"
    with pytest.raises(ConfigError, match="LOG_LEVEL: must be DEBUG, INFO, WARNING or ERROR"):
        Config.from_env({"LOG_LEVEL": "loud", "INSTANCE_PATH": str(tmp_path)})
