"""Settings read from the environment once, validated before the app starts."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant. Answer in the language of the question. "
    "Answer only what was asked, in a natural, conversational tone, and never "
    'start with a label such as "Answer:".'
)


class ConfigError(ValueError):
    """A setting has a value the app cannot run with; the message names the variable."""


@dataclass(frozen=True)
class Config:
    """Every setting of the app, with its default."""

    openai_api_key: str = field(default="", repr=False)
    llm_base_url: str = ""
    llm_model: str = "gpt-4o-mini"
    max_tokens: int = 2500
    context_size: int = 5
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    temperature: float | None = None
    llm_timeout: float = 60.0
    database_url: str = f"sqlite:///{INSTANCE / 'answers.db'}"
    secret_key: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = 5000
    log_level: str = "INFO"
    max_question_chars: int = 8000
    max_body_bytes: int = 64 * 1024
    demo_delay: float = 0.03
    instance_path: Path = INSTANCE

    @property
    def demo(self) -> bool:
        """Whether the built-in demo model answers (no key and no base URL given)."""
        return not self.openai_api_key and not self.llm_base_url

    @property
    def model_name(self) -> str:
        """The model name shown to people and stored with each answer."""
        return "demo" if self.demo else self.llm_model

    def with_(self, **changes: Any) -> Config:
        """Return a copy with some settings changed (used by tests)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Build the settings from environment variables, raising ConfigError on a bad one."""
        if environ is None:
            load_dotenv(ROOT / ".env", override=False)
        env = os.environ if environ is None else environ
        instance = Path(env.get("INSTANCE_PATH") or INSTANCE)
        values: dict[str, Any] = {"instance_path": instance}
        for name, (variable, parse) in _PARSERS.items():
            raw = env.get(variable, "").strip()
            if raw:
                try:
                    values[name] = parse(raw)
                except ValueError as error:
                    raise ConfigError(f"{variable}: {error} (got {raw!r})") from None
        if not values.get("openai_api_key") and env.get("OPENAI_KEY", "").strip():
            values["openai_api_key"] = env["OPENAI_KEY"].strip()
        if "database_url" not in values:
            values["database_url"] = _database_url_from_parts(env, instance)
        if not values.get("secret_key"):
            values["secret_key"] = _stored_secret_key(instance)
        return cls(**values)


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("must be a whole number") from None


def _float(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError("must be a number") from None


def _positive_int(raw: str) -> int:
    value = _int(raw)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


def _non_negative_int(raw: str) -> int:
    value = _int(raw)
    if value < 0:
        raise ValueError("must be zero or a positive whole number")
    return value


def _positive_float(raw: str) -> float:
    value = _float(raw)
    if not value > 0:
        raise ValueError("must be a positive number")
    return value


def _non_negative_float(raw: str) -> float:
    value = _float(raw)
    if not value >= 0:
        raise ValueError("must be zero or a positive number")
    return value


def _temperature(raw: str) -> float:
    value = _float(raw)
    if not 0 <= value <= 2:
        raise ValueError("must be a number from 0 to 2")
    return value


def _port(raw: str) -> int:
    value = _int(raw)
    if not 0 < value < 65536:
        raise ValueError("must be a port number from 1 to 65535")
    return value


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return level


def _http_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return raw.rstrip("/")


def _database_url(raw: str) -> str:
    if not raw.startswith(("sqlite:///", "mysql://")):
        raise ValueError("must look like sqlite:///path/to/file.db or mysql://user:pass@host:3306/db")
    return raw


def _secret(raw: str) -> str:
    if len(raw) < 16:
        raise ValueError("must be at least 16 characters long")
    return raw


def _text(raw: str) -> str:
    return raw


_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "openai_api_key": ("OPENAI_API_KEY", _text),
    "llm_base_url": ("LLM_BASE_URL", _http_url),
    "llm_model": ("LLM_MODEL", _text),
    "max_tokens": ("MAX_TOKENS", _positive_int),
    "context_size": ("CONTEXT_SIZE", _non_negative_int),
    "system_prompt": ("SYSTEM_PROMPT", _text),
    "temperature": ("TEMPERATURE", _temperature),
    "llm_timeout": ("LLM_TIMEOUT", _positive_float),
    "database_url": ("DATABASE_URL", _database_url),
    "secret_key": ("SECRET_KEY", _secret),
    "host": ("HOST", _text),
    "port": ("PORT", _port),
    "log_level": ("LOG_LEVEL", _log_level),
    "max_question_chars": ("MAX_QUESTION_CHARS", _positive_int),
    "max_body_bytes": ("MAX_BODY_BYTES", _positive_int),
    "demo_delay": ("DEMO_DELAY", _non_negative_float),
}

assert set(_PARSERS) | {"instance_path"} == {f.name for f in fields(Config)}


def _database_url_from_parts(env: Mapping[str, str], instance: Path) -> str:
    """Build a MySQL URL from the older DB_* variables, or fall back to SQLite."""
    host = env.get("DB_HOST", "").strip()
    if not host:
        return f"sqlite:///{instance / 'answers.db'}"
    port = env.get("DB_PORT", "").strip() or "3306"
    try:
        _port(port)
    except ValueError as error:
        raise ConfigError(f"DB_PORT: {error} (got {port!r})") from None
    user = quote(env.get("DB_USERNAME", "").strip(), safe="")
    password = quote(env.get("DB_PASSWORD", ""), safe="")
    name = quote(env.get("DB_NAME", "").strip() or "answers", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"mysql://{credentials}{host}:{port}/{name}"


def _stored_secret_key(instance: Path) -> str:
    """Return the secret key kept in the instance folder, creating it on first start."""
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    instance.mkdir(parents=True, exist_ok=True)
    draft = instance / f".secret_key.{os.getpid()}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(48))
    # A hard link never replaces a file: when several workers start at once, the
    # first one's key wins and every worker reads that same key back.
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


def current_config() -> Config:
    """The settings of the app handling the current request."""
    from quart import current_app

    return current_app.config["ANSWERS"]
