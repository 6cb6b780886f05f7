"""Settings come from the environment and a bad one stops start-up with a clear line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Config, ConfigError

ROOT = Path(__file__).resolve().parents[1]


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"INSTANCE_PATH": str(tmp_path), **values}


def test_defaults_use_sqlite_in_the_instance_folder_and_the_demo_model(tmp_path):
    config = Config.from_env(env(tmp_path))
    assert config.database_url == f"sqlite:///{tmp_path / 'answers.db'}"
    assert config.demo and config.model_name == "demo"
    assert (config.llm_model, config.max_tokens, config.context_size) == ("gpt-4o-mini", 2500, 5)
    assert (config.host, config.port, config.max_question_chars) == ("127.0.0.1", 5000, 8000)
    assert "language of the question" in config.system_prompt


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = Config.from_env(env(tmp_path)).secret_key
    second = Config.from_env(env(tmp_path)).secret_key
    assert len(first) >= 32 and first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_old_openai_key_name_still_works_and_turns_the_demo_off(tmp_path):
    config = Config.from_env(env(tmp_path, OPENAI_KEY="sk-old"))
    assert config.openai_api_key == "sk-old"
    assert not config.demo and config.model_name == "gpt-4o-mini"
    assert "sk-old" not in repr(config)


def test_new_key_name_wins_over_the_old_one(tmp_path):
    assert Config.from_env(env(tmp_path, OPENAI_KEY="old", OPENAI_API_KEY="new")).openai_api_key == "new"


def test_old_database_variables_build_a_mysql_url(tmp_path):
    config = Config.from_env(env(tmp_path, DB_HOST="db.internal", DB_USERNAME="app", DB_PASSWORD="p@ss:w/rd"))
    assert config.database_url == "mysql://app:p%40ss%3Aw%2Frd@db.internal:3306/answers"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAX_TOKENS", "lots"),
        ("MAX_TOKENS", "0"),
        ("CONTEXT_SIZE", "-1"),
        ("TEMPERATURE", "3"),
        ("LLM_TIMEOUT", "soon"),
        ("PORT", "70000"),
        ("LLM_BASE_URL", "localhost:11434"),
        ("DATABASE_URL", "postgres://x"),
        ("SECRET_KEY", "short"),
        ("MAX_QUESTION_CHARS", "1.5"),
        ("SIGN_UP", "sometimes"),
        ("LLM_SERVERS", "ollama"),
        ("ADMIN_EMAILS", "boss"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(tmp_path, variable, value):
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        Config.from_env(env(tmp_path, **{variable: value}))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"SIGN_IN": "password"}, "SIGN_IN: password needs APP_PASSWORD, the password everyone types"),
        (
            {"SIGN_IN": "oidc", "OIDC_ISSUER": "https://id.example"},
            "SIGN_IN: oidc needs OIDC_ISSUER and OIDC_CLIENT_ID (and usually OIDC_CLIENT_SECRET)",
        ),
        (
            {"SIGN_IN": "proxy"},
            "SIGN_IN: proxy needs TRUSTED_PROXIES, the addresses whose headers are believed",
        ),
        (
            {"TEMPERATURE_MIN": "1.5", "TEMPERATURE_MAX": "1"},
            "TEMPERATURE_MIN: must not be above TEMPERATURE_MAX",
        ),
        (
            {"TEMPERATURE": "1.5", "TEMPERATURE_MAX": "1"},
            "TEMPERATURE: must lie between TEMPERATURE_MIN and TEMPERATURE_MAX",
        ),
    ],
)
def test_settings_that_contradict_each_other_are_refused_naming_what_is_missing(tmp_path, values, message):
    with pytest.raises(ConfigError) as refused:
        Config.from_env(env(tmp_path, **values))
    assert str(refused.value) == message


def test_settings_that_fit_together_are_accepted(tmp_path):
    config = Config.from_env(
        env(
            tmp_path,
            SIGN_IN="proxy",
            TRUSTED_PROXIES="10.0.0.0/8",
            TEMPERATURE="1",
            TEMPERATURE_MIN="1",
            TEMPERATURE_MAX="1",
        )
    )
    assert (config.sign_in_mode, config.temperature) == ("proxy", 1.0)
    assert Config.from_env(env(tmp_path, APP_PASSWORD="open sesame")).sign_in_mode == "password"


def test_the_old_database_port_is_checked_like_port(tmp_path):
    with pytest.raises(ConfigError, match=r"^DB_PORT: must be a port number from 1 to 65535 \(got '0'\)$"):
        Config.from_env(env(tmp_path, DB_HOST="db.internal", DB_PORT="0"))


def test_settings_whose_variable_is_set_are_pinned_and_no_others(tmp_path):
    config = Config.from_env(
        env(
            tmp_path,
            MAX_TOKENS="100",
            LLM_MODEL="  ",
            OPENAI_KEY="sk-old",
            DB_HOST="db.internal",
            LLM_SERVERS="ollama=http://127.0.0.1:11434/v1",
            LLM_API_KEY_OLLAMA="local-key",
        )
    )
    assert config.pinned == {
        "instance_path",
        "max_tokens",
        "openai_api_key",
        "database_url",
        "llm_servers",
    }
    assert config.llm_model == "gpt-4o-mini" and config.llm_servers[0].api_key == "local-key"


def test_a_generated_secret_key_and_the_default_database_are_not_pinned(tmp_path):
    config = Config.from_env(env(tmp_path))
    assert config.pinned == {"instance_path"}
    assert config.secret_key and config.database_url.startswith("sqlite:///")
    assert Config().pinned == frozenset()


class WatchedEnvironment(dict[str, str]):
    """Environment variables that note every name looked up in them."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, name, default=None):
        self.read.add(name)
        return super().get(name, default)

    def __getitem__(self, name):
        self.read.add(name)
        return super().__getitem__(name)


def test_the_configuration_page_lists_every_variable_read_and_no_other(tmp_path):
    environment = WatchedEnvironment(
        env(tmp_path, DB_HOST="db.internal", LLM_SERVERS="ollama=http://127.0.0.1:11434/v1")
    )
    Config.from_env(environment)
    read = {re.sub(r"^LLM_API_KEY_OLLAMA$", "LLM_API_KEY_<NAME>", name) for name in environment.read}
    page = (ROOT / "docs" / "configuration.md").read_text()
    first_cells = re.findall(r"^\| ([^|]+) \|", page, flags=re.MULTILINE)
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_<>]+)`", cell)}
    assert {"OPENAI_KEY", "DB_PORT", "INSTANCE_PATH", "LLM_API_KEY_<NAME>", "SIGN_IN"} <= read
    assert sorted(read - documented) == [], "read but not documented"
    assert sorted(documented - read) == [], "documented but not read"


def test_start_up_with_a_bad_value_prints_one_line_and_exits(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "INSTANCE_PATH": str(tmp_path), "MAX_TOKENS": "many"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: MAX_TOKENS: must be a positive whole number (got 'many')"
    ]


def test_the_app_starts_without_waiting_for_the_openai_sdk_to_load():
    """The SDK takes most of a second to import; the app loads it in the background."""
    code = "import sys, app; app.create_app(); print('openai' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "INSTANCE_PATH": "/tmp", "OPENAI_API_KEY": "sk-test"},
    )
    assert result.stdout.strip() == "False", result.stderr
