"""Settings read from the environment once, validated before the app starts."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from dotenv import load_dotenv

from . import reach
from .private import private_folder

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant. Answer in the language of the question. "
    "Answer only what was asked, in a natural, conversational tone, and never "
    'start with a label such as "Answer:".'
)


# Models known to see images, by name (VISION_MODELS replaces the list).
DEFAULT_VISION_MODELS = (
    "gpt-4o*",
    "gpt-4.1*",
    "gpt-4-turbo*",
    "gpt-5*",
    "o1*",
    "o3*",
    "o4*",
    "*vision*",
    "llava*",
    "*-vl*",
    "*vl:*",
    "gemma3*",
    "minicpm-v*",
    "moondream*",
    "pixtral*",
    "claude-*",
    "gemini-*",
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


def _rule[T](
    must: str, convert: Callable[[str], T], valid: Callable[[T], object] = lambda _: True
) -> Callable[[str], T]:
    """A parser that converts a variable's text and checks the result, saying what it `must` be if not."""

    def parse(raw: str) -> T:
        try:
            value = convert(raw)
        except ValueError:
            raise ValueError(must) from None
        if not valid(value):
            raise ValueError(must)
        return value

    return parse


def _choice(case: Callable[[str], str], *choices: str) -> Callable[[str], str]:
    return _rule(f"must be {', '.join(choices[:-1])} or {choices[-1]}", case, lambda value: value in choices)


def _starting(must: str, *prefixes: str, convert: Callable[[str], str] = str) -> Callable[[str], str]:
    return _rule(must, convert, lambda text: text.startswith(prefixes))


def _names(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


def _price(part: str) -> tuple[str, float]:
    model, _, price = part.rpartition("=")
    return model.strip(), float(price)


_PERIODS = {
    **dict.fromkeys(("s", "sec", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hour", "hours"), 3600),
}
_RATE = re.compile(rf"(\d+)\s*/\s*(\d*)\s*({'|'.join(_PERIODS)})")


def _to_rate(raw: str) -> Rate:
    match = _RATE.fullmatch(raw.lower())
    if not match:
        raise ValueError("not a rate")
    count, times, unit = match.groups()
    return Rate(int(count), int(times or 1) * _PERIODS[unit])


def _to_flag(raw: str) -> bool:
    flag = {
        "true": True,
        "yes": True,
        "on": True,
        "1": True,
        "false": False,
        "no": False,
        "off": False,
        "0": False,
    }
    if raw.lower() not in flag:
        raise ValueError("not a flag")
    return flag[raw.lower()]


_flag = _rule("must be true or false", _to_flag)
_positive_int = _rule("must be a positive whole number", int, lambda n: n > 0)
_count = _rule("must be zero or a positive whole number", int, lambda n: n >= 0)
_positive = _rule("must be a positive number", float, lambda n: n > 0)
_non_negative = _rule("must be zero or a positive number", float, lambda n: n >= 0)
_lease = _rule("must be a number of seconds, at least 1", float, lambda n: n >= 1)
_temperature = _rule("must be a number from 0 to 2", float, lambda n: 0 <= n <= 2)
_port = _rule("must be a port number from 1 to 65535", int, lambda n: 0 < n < 65536)
_secret = _rule("must be at least 16 characters long", str, lambda key: len(key) >= 16)
_header = _rule("must be an HTTP header name, like Remote-User", str, re.compile(r"[A-Za-z0-9-]+").fullmatch)
_server_name = _rule(
    "must be up to 40 letters, digits, spaces, dots, dashes or underscores",
    str,
    re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}").fullmatch,
)
_rate = _rule(
    "must look like 20/minute, 5/30s or 100/hour", _to_rate, lambda rate: rate.count and rate.seconds
)
_http_url = _starting(
    "must start with http:// or https://", "http://", "https://", convert=lambda u: u.rstrip("/")
)
_database_url = _starting(
    "must look like sqlite:///path/to/file.db or mysql://user:pass@host:3306/db", "sqlite:///", "mysql://"
)
_redis_url = _starting(
    "must look like redis://127.0.0.1:6379/0 (or rediss://, unix://)", "redis://", "rediss://", "unix://"
)
_networks = _rule(
    "must be a comma-separated list of IP addresses or networks, like 10.0.0.0/8",
    lambda raw: tuple(ipaddress.ip_network(part, strict=False) for part in _names(raw)),
)
_emails = _rule(
    "must be a comma-separated list of e-mail addresses",
    lambda raw: frozenset(_names(raw.lower())),
    lambda emails: all("@" in email for email in emails),
)
_origins = _rule(
    "must be a comma-separated list of origins like https://notebook.example.org (or *, any site)",
    lambda raw: tuple(origin.rstrip("/") for origin in _names(raw)),
    lambda origins: all(
        origin == "*" or (origin.startswith(("http://", "https://")) and "/" not in origin.split("://", 1)[1])
        for origin in origins
    ),
)
_days = _rule("must be a whole number of days from 0 (keep forever) to 36500", int, lambda n: 0 <= n <= 36500)
_model_key = _rule(
    "must name a model on a server, like gpt-4o-mini@OpenAI",
    str,
    lambda key: "@" in key and all(key.rpartition("@")[0::2]) and len(key) <= 200,
)


def _label(part: str) -> tuple[str, str]:
    key, equals, name = part.partition("=")
    if not equals:
        raise ValueError("no label")
    return key.strip(), name.strip()


_labels = _rule(
    "must be a comma-separated list of model@server=Label, each label up to 60 characters",
    lambda raw: tuple(_label(part) for part in _names(raw)),
    lambda labels: all(_model_key_ok(key) and 0 < len(name) <= 60 for key, name in labels),
)


def _model_key_ok(key: str) -> bool:
    try:
        _model_key(key)
    except ValueError:
        return False
    return True


_prices = _rule(
    "must look like gpt-4o-mini=0.0006,gpt-4o=0.01 (a price per 1,000 tokens)",
    lambda raw: tuple(_price(part) for part in raw.split(",")),
    lambda prices: all(model and price >= 0 for model, price in prices),
)


def _to_webhook_urls(raw: str) -> tuple[str, ...]:
    urls = _names(raw)
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not a URL")
        parts.port  # noqa: B018 - a port past 65535 raises ValueError here
    return urls


def _to_webhook_secret(raw: str) -> str:
    key = raw.removeprefix("whsec_")
    try:
        size = len(base64.b64decode(key, validate=True))
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if not raw.startswith("whsec_") or not 24 <= size <= 64:
        raise ValueError("not a whsec_ secret")
    return raw


_webhook_urls = _rule("must be a comma-separated list of http:// or https:// URLs", _to_webhook_urls)
_webhook_secret = _rule(
    "must be whsec_ followed by 24 to 64 random bytes in base64"
    " (python -c 'import base64,os; print(\"whsec_\" + base64.b64encode(os.urandom(32)).decode())')",
    _to_webhook_secret,
)


def _group_names(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in _names(raw):
        key, equals, name = part.partition("=")
        if not equals or not key.strip() or not name.strip():
            raise ValueError("must be a comma-separated list of id=name, like 0b5c…=Engineering,7f3e…=Sales")
        pairs.append((key.strip(), " ".join(name.split())))
    return tuple(pairs)


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


def _setting(default: Any, parse: Callable[[str], Any], *variables: str, secret: bool = False) -> Any:
    """A field read through `parse` from the first of its `variables` that is set."""
    return field(default=default, repr=not secret, metadata={"parse": parse, "variables": variables})


@dataclass(frozen=True)
class Config:
    """Every setting of the app: its default, how its text is read, and from which variable."""

    openai_api_key: str = _setting("", str, "OPENAI_API_KEY", "OPENAI_KEY", secret=True)
    llm_base_url: str = _setting("", _http_url, "LLM_BASE_URL")
    llm_model: str = _setting("gpt-4o-mini", str, "LLM_MODEL")
    max_tokens: int = _setting(2500, _positive_int, "MAX_TOKENS")
    context_size: int = _setting(5, _count, "CONTEXT_SIZE")
    context_tokens: int = _setting(0, _count, "CONTEXT_TOKENS")
    system_prompt: str = _setting(DEFAULT_SYSTEM_PROMPT, str, "SYSTEM_PROMPT")
    temperature: float | None = _setting(None, _temperature, "TEMPERATURE")
    llm_timeout: float = _setting(60.0, _positive, "LLM_TIMEOUT")
    answer_lease_seconds: float = _setting(15.0, _lease, "ANSWER_LEASE_SECONDS")
    database_url: str = _setting(f"sqlite:///{INSTANCE / 'answers.db'}", _database_url, "DATABASE_URL")
    secret_key: str = _setting("", _secret, "SECRET_KEY", secret=True)
    host: str = _setting("127.0.0.1", str, "HOST")
    port: int = _setting(5000, _port, "PORT")
    log_level: str = _setting("INFO", _choice(str.upper, "DEBUG", "INFO", "WARNING", "ERROR"), "LOG_LEVEL")
    max_question_chars: int = _setting(8000, _positive_int, "MAX_QUESTION_CHARS")
    max_body_bytes: int = _setting(128 * 1024, _positive_int, "MAX_BODY_BYTES")
    demo_delay: float = _setting(0.03, _non_negative, "DEMO_DELAY")
    app_password: str = _setting("", str, "APP_PASSWORD", secret=True)
    redis_url: str = _setting("", _redis_url, "REDIS_URL", secret=True)
    metrics_token: str = _setting("", _secret, "METRICS_TOKEN", secret=True)
    ask_rate: Rate = _setting(Rate(20, 60), _rate, "ASK_RATE_LIMIT")
    login_rate: Rate = _setting(Rate(5, 60), _rate, "LOGIN_RATE_LIMIT")
    max_streams_per_client: int = _setting(4, _positive_int, "MAX_STREAMS_PER_CLIENT")
    trusted_proxies: tuple[Network, ...] = _setting((), _networks, "TRUSTED_PROXIES")
    sign_in: str = _setting(
        "", _choice(str.lower, "none", "password", "accounts", "oidc", "proxy"), "SIGN_IN"
    )
    sign_up: str = _setting("invite", _choice(str.lower, "open", "closed", "invite"), "SIGN_UP")
    login_account_rate: Rate = _setting(Rate(10, 900), _rate, "LOGIN_ACCOUNT_RATE_LIMIT")
    admin_emails: frozenset[str] = _setting(frozenset(), _emails, "ADMIN_EMAILS")
    tokens_per_day: int = _setting(0, _count, "TOKENS_PER_DAY")
    prices: tuple[tuple[str, float], ...] = _setting((), _prices, "PRICES")
    retention_days: int = _setting(0, _days, "RETENTION_DAYS")
    retention_spares_api: bool = _setting(False, _flag, "RETENTION_SPARES_API_CALLS")
    audit_retention_days: int = _setting(365, _days, "AUDIT_RETENTION_DAYS")
    public_shares: bool = _setting(False, _flag, "PUBLIC_SHARES")
    share_rate: Rate = _setting(Rate(10, 60), _rate, "SHARE_RATE_LIMIT")
    share_links_per_chat: int = _setting(10, _positive_int, "SHARE_LINKS_PER_CHAT")
    share_links_per_person: int = _setting(100, _positive_int, "SHARE_LINKS_PER_PERSON")
    delete_erases: bool = _setting(False, _flag, "DELETE_ERASES")
    oidc_issuer: str = _setting("", _http_url, "OIDC_ISSUER")
    oidc_client_id: str = _setting("", str, "OIDC_CLIENT_ID")
    oidc_client_secret: str = _setting("", str, "OIDC_CLIENT_SECRET", secret=True)
    oidc_scopes: str = _setting("openid email profile", str, "OIDC_SCOPES")
    oidc_groups_claim: str = _setting("", str, "OIDC_GROUPS_CLAIM")
    oidc_group_names: tuple[tuple[str, str], ...] = _setting((), _group_names, "OIDC_GROUP_NAMES")
    proxy_user_header: str = _setting("Remote-User", _header, "PROXY_USER_HEADER")
    proxy_email_header: str = _setting("Remote-Email", _header, "PROXY_EMAIL_HEADER")
    llm_models: tuple[str, ...] = _setting((), _names, "LLM_MODELS")
    llm_server_name: str = _setting("", _server_name, "LLM_SERVER_NAME")
    llm_servers: tuple[Server, ...] = _setting((), _servers, "LLM_SERVERS")
    llm_hidden_models: tuple[str, ...] = _setting((), _names, "LLM_HIDDEN_MODELS")
    default_model: str = _setting("", _model_key, "DEFAULT_MODEL")
    model_labels: tuple[tuple[str, str], ...] = _setting((), _labels, "MODEL_LABELS")
    allow_private_model_servers: bool = _setting(False, _flag, "ALLOW_PRIVATE_MODEL_SERVERS")
    temperature_min: float = _setting(0.0, _temperature, "TEMPERATURE_MIN")
    temperature_max: float = _setting(2.0, _temperature, "TEMPERATURE_MAX")
    instance_path: Path = _setting(INSTANCE, Path, "INSTANCE_PATH")
    max_upload_mb: int = _setting(50, _positive_int, "MAX_UPLOAD_MB")
    max_upload_mb_per_question: int = _setting(100, _positive_int, "MAX_UPLOAD_MB_PER_QUESTION")
    max_files_per_question: int = _setting(10, _positive_int, "MAX_FILES_PER_QUESTION")
    upload_mb_per_day: int = _setting(500, _count, "UPLOAD_MB_PER_DAY")
    vision_models: tuple[str, ...] = _setting(DEFAULT_VISION_MODELS, _names, "VISION_MODELS")
    file_text_chars: int = _setting(100_000, _positive_int, "FILE_TEXT_CHARS")
    files_context_chars: int = _setting(200_000, _count, "FILES_CONTEXT_CHARS")
    api_key_rate: Rate = _setting(Rate(20, 60), _rate, "API_KEY_RATE_LIMIT")
    api_cors_origins: tuple[str, ...] = _setting((), _origins, "API_CORS_ORIGINS")
    webhook_urls: tuple[str, ...] = _setting((), _webhook_urls, "WEBHOOK_URLS", secret=True)
    webhook_urls_exchange_finished: tuple[str, ...] = _setting(
        (), _webhook_urls, "WEBHOOK_URLS_EXCHANGE_FINISHED", secret=True
    )
    webhook_urls_feedback_given: tuple[str, ...] = _setting(
        (), _webhook_urls, "WEBHOOK_URLS_FEEDBACK_GIVEN", secret=True
    )
    webhook_urls_admin_action: tuple[str, ...] = _setting(
        (), _webhook_urls, "WEBHOOK_URLS_ADMIN_ACTION", secret=True
    )
    webhook_secret: str = _setting("", _webhook_secret, "WEBHOOK_SECRET", secret=True)
    webhook_timeout: float = _setting(10.0, _positive, "WEBHOOK_TIMEOUT")
    webhook_retry_seconds: float = _setting(5.0, _positive, "WEBHOOK_RETRY_SECONDS")
    webhook_retry_max_seconds: float = _setting(3600.0, _positive, "WEBHOOK_RETRY_MAX_SECONDS")
    webhook_allow_private: bool = _setting(False, _flag, "WEBHOOK_ALLOW_PRIVATE")
    # The settings whose variable is set, so that a settings page can show them as fixed.
    pinned: frozenset[str] = frozenset()

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

    @property
    def webhook_routes(self) -> dict[str, tuple[str, ...]]:
        """The URLs each event type is sent to: WEBHOOK_URLS, then the type's own list."""
        return {
            event: tuple(dict.fromkeys(self.webhook_urls + getattr(self, name)))
            for event, name in WEBHOOK_EVENTS.items()
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Build the settings from environment variables, raising ConfigError on a bad one."""
        if environ is None:
            load_dotenv(ROOT / ".env", override=False)
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in fields(cls):
            for variable in setting.metadata.get("variables", ()):
                if raw := env.get(variable, "").strip():
                    try:
                        values[setting.name] = setting.metadata["parse"](raw)
                    except ValueError as error:
                        raise ConfigError(f"{variable}: {error} (got {raw!r})") from None
                    break
        instance = values.get("instance_path", INSTANCE)
        if servers := values.get("llm_servers"):
            values["llm_servers"] = tuple(
                replace(server, api_key=env.get(server.key_variable, "").strip()) for server in servers
            )
        if "database_url" not in values and env.get("DB_HOST", "").strip():
            values["database_url"] = _database_url_from_parts(env)
        pinned = frozenset(values)
        values.setdefault("database_url", f"sqlite:///{instance / 'answers.db'}")
        if "secret_key" not in values:
            values["secret_key"] = _stored_secret_key(instance)
        config = cls(**values, pinned=pinned)
        config.check()
        return config

    def check(self) -> None:
        """Raise ConfigError when settings that are each valid contradict one another."""
        given, needs = {
            "password": (self.app_password, "APP_PASSWORD, the password everyone types"),
            "oidc": (
                self.oidc_issuer and self.oidc_client_id,
                "OIDC_ISSUER and OIDC_CLIENT_ID (and usually OIDC_CLIENT_SECRET)",
            ),
            "proxy": (self.trusted_proxies, "TRUSTED_PROXIES, the addresses whose headers are believed"),
        }.get(self.sign_in_mode, (True, ""))
        if not given:
            raise ConfigError(f"SIGN_IN: {self.sign_in_mode} needs {needs}")
        if self.temperature_min > self.temperature_max:
            raise ConfigError("TEMPERATURE_MIN: must not be above TEMPERATURE_MAX")
        if (
            self.temperature is not None
            and not self.temperature_min <= self.temperature <= self.temperature_max
        ):
            raise ConfigError("TEMPERATURE: must lie between TEMPERATURE_MIN and TEMPERATURE_MAX")
        self._check_webhooks()
        needed = self.max_question_chars * BYTES_PER_FORM_CHAR + FORM_OVERHEAD_BYTES
        if self.max_body_bytes < needed:
            raise ConfigError(
                f"MAX_BODY_BYTES: must be at least {needed} so that a question of MAX_QUESTION_CHARS "
                f"({self.max_question_chars}) characters fits in a form (got {self.max_body_bytes})"
            )

    def _check_webhooks(self) -> None:
        urls = {url for routed in self.webhook_routes.values() for url in routed}
        if urls and not self.webhook_secret:
            raise ConfigError(
                "WEBHOOK_SECRET: needed to sign the events sent to WEBHOOK_URLS (whsec_ and base64)"
            )
        if self.webhook_allow_private:
            return
        for url in sorted(urls):
            if why := self.webhook_refusal(url):
                raise ConfigError(
                    f"WEBHOOK_URLS: {why}, refused ({shown_url(url)}); set WEBHOOK_ALLOW_PRIVATE=true"
                    " if you mean it"
                )

    def webhook_refusal(self, url: str) -> str | None:
        """Why a webhook URL may not be called (this app itself, a metadata or private address), if so."""
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        loopback_names = host == "localhost" or host.endswith(".localhost")
        if port == self.port and (host == self.host.lower() or loopback_names or _is_loopback(host)):
            return "it points at this app itself"
        if reach.is_metadata_name(host):
            return "it points at a cloud metadata service"
        if loopback_names:
            return "it points at this machine"
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return None  # a name: its addresses are checked as each request connects
        return address_refusal(address, allow_private=False)


# The event types sent to webhooks, and the setting naming each one's own URLs.
WEBHOOK_EVENTS = {
    "exchange.finished": "webhook_urls_exchange_finished",
    "feedback.given": "webhook_urls_feedback_given",
    "admin.action": "webhook_urls_admin_action",
}
# What each unreachable kind of address is called when a webhook URL is refused.
WEBHOOK_REFUSALS: dict[reach.Kind, str] = {
    "metadata": "it points at a cloud metadata service",
    "link-local": "it points at a link-local address",
    "loopback": "it points at this machine",
    "private": "it points at a private address",
}


def address_refusal(address: reach.Address, allow_private: bool) -> str | None:
    """Why a webhook may not connect to an address (metadata, link-local, private), if so."""
    found = None if allow_private else reach.kind(address)
    return WEBHOOK_REFUSALS[found] if found else None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def shown_url(url: str) -> str:
    """A URL as an operator may see it in a message: its path and query may hold a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


def _database_url_from_parts(env: Mapping[str, str]) -> str:
    """Build a MySQL URL from the older DB_* variables."""
    host = env["DB_HOST"].strip()
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
