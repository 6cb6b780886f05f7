"""Settings read from the environment once, validated before the app starts."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dotenv import load_dotenv

from .private import private_folder

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant. Answer in the language of the question. "
    "Answer only what was asked, in a natural, conversational tone, and never "
    'start with a label such as "Answer:".'
)


class ConfigError(ValueError):
    """A setting has a value the app cannot run with; the message names the variable."""


# A URL-encoded form spends up to 12 bytes on one character (4 UTF-8 bytes, each as %XX).
BYTES_PER_FORM_CHAR = 12
FORM_OVERHEAD_BYTES = 4096

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Rate:
    """At most `count` requests per `seconds`, per client."""

    count: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds:g}s"


@dataclass(frozen=True)
class Server:
    """Another OpenAI-compatible model server, named in the model picker (its key from LLM_API_KEY_<NAME>)."""

    name: str
    base_url: str
    api_key: str = field(default="", repr=False)

    @property
    def key_variable(self) -> str:
        """The environment variable holding this server's API key."""
        return "LLM_API_KEY_" + re.sub(r"[^A-Z0-9]", "_", self.name.upper())


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
    answer_lease_seconds: float = 15.0
    database_url: str = f"sqlite:///{INSTANCE / 'answers.db'}"
    secret_key: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = 5000
    log_level: str = "INFO"
    max_question_chars: int = 8000
    max_body_bytes: int = 128 * 1024
    demo_delay: float = 0.03
    app_password: str = field(default="", repr=False)
    redis_url: str = field(default="", repr=False)
    ask_rate: Rate = Rate(20, 60)
    login_rate: Rate = Rate(5, 60)
    max_streams_per_client: int = 4
    trusted_proxies: tuple[Network, ...] = ()
    sign_in: str = ""
    sign_up: str = "invite"
    login_account_rate: Rate = Rate(10, 900)
    admin_emails: frozenset[str] = frozenset()
    tokens_per_day: int = 0
    prices: tuple[tuple[str, float], ...] = ()
    retention_days: int = 0
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_scopes: str = "openid email profile"
    proxy_user_header: str = "Remote-User"
    proxy_email_header: str = "Remote-Email"
    llm_models: tuple[str, ...] = ()
    llm_server_name: str = ""
    llm_servers: tuple[Server, ...] = ()
    llm_hidden_models: tuple[str, ...] = ()
    temperature_min: float = 0.0
    temperature_max: float = 2.0
    instance_path: Path = INSTANCE

    @property
    def demo(self) -> bool:
        """Whether the built-in demo model answers (no key and no base URL given)."""
        return not self.openai_api_key and not self.llm_base_url

    @property
    def model_name(self) -> str:
        """The model name shown to people and stored with each answer."""
        return "demo" if self.demo else self.llm_model

    @property
    def sign_in_mode(self) -> str:
        """How people sign in: none, password (the shared APP_PASSWORD gate), accounts, oidc or proxy."""
        return self.sign_in or ("password" if self.app_password else "none")

    @property
    def accounts(self) -> bool:
        """Whether people sign in as themselves (and so have roles, and see only their own rows)."""
        return self.sign_in_mode in ("accounts", "oidc", "proxy")

    @property
    def passwords(self) -> bool:
        """Whether accounts are local: a name and a password kept here."""
        return self.sign_in_mode == "accounts"

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
        values["llm_servers"] = tuple(
            Server(server.name, server.base_url, env.get(server.key_variable, "").strip())
            for server in values.get("llm_servers", ())
        )
        if not values.get("openai_api_key") and env.get("OPENAI_KEY", "").strip():
            values["openai_api_key"] = env["OPENAI_KEY"].strip()
        if "database_url" not in values:
            values["database_url"] = _database_url_from_parts(env, instance)
        if not values.get("secret_key"):
            values["secret_key"] = _stored_secret_key(instance)
        config = cls(**values)
        if config.sign_in_mode == "password" and not config.app_password:
            raise ConfigError("SIGN_IN: password needs APP_PASSWORD, the password everyone types")
        if config.sign_in_mode == "oidc" and not (config.oidc_issuer and config.oidc_client_id):
            raise ConfigError(
                "SIGN_IN: oidc needs OIDC_ISSUER and OIDC_CLIENT_ID (and usually OIDC_CLIENT_SECRET)"
            )
        if config.sign_in_mode == "proxy" and not config.trusted_proxies:
            raise ConfigError(
                "SIGN_IN: proxy needs TRUSTED_PROXIES, the addresses whose headers are believed"
            )
        if config.temperature_min > config.temperature_max:
            raise ConfigError("TEMPERATURE_MIN: must not be above TEMPERATURE_MAX")
        if (
            config.temperature is not None
            and not config.temperature_min <= config.temperature <= config.temperature_max
        ):
            raise ConfigError("TEMPERATURE: must lie between TEMPERATURE_MIN and TEMPERATURE_MAX")
        needed = config.max_question_chars * BYTES_PER_FORM_CHAR + FORM_OVERHEAD_BYTES
        if config.max_body_bytes < needed:
            raise ConfigError(
                f"MAX_BODY_BYTES: must be at least {needed} so that a question of MAX_QUESTION_CHARS "
                f"({config.max_question_chars}) characters fits in a form (got {config.max_body_bytes})"
            )
        return config


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


def _lease_seconds(raw: str) -> float:
    value = _float(raw)
    if not value >= 1:
        raise ValueError("must be a number of seconds, at least 1")
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


def _redis_url(raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must look like redis://127.0.0.1:6379/0 (or rediss://, unix://)")
    return raw


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.lower()
        if value not in choices:
            raise ValueError(f"must be one of: {', '.join(choices)}")
        return value

    return parse


def _emails(raw: str) -> frozenset[str]:
    found = frozenset(part.strip().lower() for part in raw.split(",") if part.strip())
    if any("@" not in email for email in found):
        raise ValueError("must be a comma-separated list of e-mail addresses")
    return found


def _prices(raw: str) -> tuple[tuple[str, float], ...]:
    found = []
    for part in raw.split(","):
        model, _, price = part.strip().rpartition("=")
        try:
            value = float(price)
        except ValueError:
            value = -1.0
        if not model.strip() or not value >= 0:
            raise ValueError("must look like gpt-4o-mini=0.0006,gpt-4o=0.01 (a price per 1,000 tokens)")
        found.append((model.strip(), value))
    return tuple(found)


def _header(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9-]+", raw):
        raise ValueError("must be an HTTP header name, like Remote-User")
    return raw


_PERIODS = {
    **dict.fromkeys(("s", "sec", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hour", "hours"), 3600),
}
_RATE = re.compile(r"(\d+)\s*/\s*(\d*)\s*([a-z]+)")


def _rate(raw: str) -> Rate:
    match = _RATE.fullmatch(raw.lower())
    unit = match and _PERIODS.get(match.group(3))
    if not match or not unit or int(match.group(1)) <= 0 or match.group(2) == "0":
        raise ValueError("must look like 20/minute, 5/30s or 100/hour")
    return Rate(int(match.group(1)), int(match.group(2) or 1) * unit)


def _networks(raw: str) -> tuple[Network, ...]:
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()
        )
    except ValueError:
        raise ValueError(
            "must be a comma-separated list of IP addresses or networks, like 10.0.0.0/8"
        ) from None


def _names(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


_SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}")


def _server_name(raw: str) -> str:
    if not _SERVER_NAME.fullmatch(raw):
        raise ValueError("must be up to 40 letters, digits, spaces, dots, dashes or underscores")
    return raw


def _servers(raw: str) -> tuple[Server, ...]:
    servers = []
    for part in _names(raw):
        name, equals, url = part.partition("=")
        if not equals:
            raise ValueError(
                "must be a comma-separated list of name=URL, like ollama=http://127.0.0.1:11434/v1"
            )
        servers.append(Server(_server_name(name.strip()), _http_url(url.strip())))
    if len({server.name for server in servers}) < len(servers):
        raise ValueError("names each server once")
    return tuple(servers)


_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "openai_api_key": ("OPENAI_API_KEY", _text),
    "llm_base_url": ("LLM_BASE_URL", _http_url),
    "llm_model": ("LLM_MODEL", _text),
    "max_tokens": ("MAX_TOKENS", _positive_int),
    "context_size": ("CONTEXT_SIZE", _non_negative_int),
    "system_prompt": ("SYSTEM_PROMPT", _text),
    "temperature": ("TEMPERATURE", _temperature),
    "llm_timeout": ("LLM_TIMEOUT", _positive_float),
    "answer_lease_seconds": ("ANSWER_LEASE_SECONDS", _lease_seconds),
    "database_url": ("DATABASE_URL", _database_url),
    "secret_key": ("SECRET_KEY", _secret),
    "host": ("HOST", _text),
    "port": ("PORT", _port),
    "log_level": ("LOG_LEVEL", _log_level),
    "max_question_chars": ("MAX_QUESTION_CHARS", _positive_int),
    "max_body_bytes": ("MAX_BODY_BYTES", _positive_int),
    "demo_delay": ("DEMO_DELAY", _non_negative_float),
    "app_password": ("APP_PASSWORD", _text),
    "redis_url": ("REDIS_URL", _redis_url),
    "ask_rate": ("ASK_RATE_LIMIT", _rate),
    "login_rate": ("LOGIN_RATE_LIMIT", _rate),
    "max_streams_per_client": ("MAX_STREAMS_PER_CLIENT", _positive_int),
    "trusted_proxies": ("TRUSTED_PROXIES", _networks),
    "sign_in": ("SIGN_IN", _choice("none", "password", "accounts", "oidc", "proxy")),
    "sign_up": ("SIGN_UP", _choice("open", "closed", "invite")),
    "login_account_rate": ("LOGIN_ACCOUNT_RATE_LIMIT", _rate),
    "admin_emails": ("ADMIN_EMAILS", _emails),
    "tokens_per_day": ("TOKENS_PER_DAY", _non_negative_int),
    "prices": ("PRICES", _prices),
    "retention_days": ("RETENTION_DAYS", _non_negative_int),
    "oidc_issuer": ("OIDC_ISSUER", _http_url),
    "oidc_client_id": ("OIDC_CLIENT_ID", _text),
    "oidc_client_secret": ("OIDC_CLIENT_SECRET", _text),
    "oidc_scopes": ("OIDC_SCOPES", _text),
    "proxy_user_header": ("PROXY_USER_HEADER", _header),
    "proxy_email_header": ("PROXY_EMAIL_HEADER", _header),
    "llm_models": ("LLM_MODELS", _names),
    "llm_server_name": ("LLM_SERVER_NAME", _server_name),
    "llm_servers": ("LLM_SERVERS", _servers),
    "llm_hidden_models": ("LLM_HIDDEN_MODELS", _names),
    "temperature_min": ("TEMPERATURE_MIN", _temperature),
    "temperature_max": ("TEMPERATURE_MAX", _temperature),
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
    private_folder(instance)
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
