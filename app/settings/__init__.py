"""Settings changed in the browser, applied on every instance within seconds and with no restart.

The effective settings are the environment's pinned values, else the database's, else the
defaults: `effective()` lays the stored rows over the settings the app started with. Each
instance reads the settings' version (one row by its key) every POLL_SECONDS, and reloads
when it moved; its own writes reload at once. A reload swaps the app's Config in one
assignment and tells the listeners (the answers' model catalog, the retention sweeper).
A stored row that cannot be read (damaged, or sealed with another SECRET_KEY) is left out,
its setting back on the environment's value, with a line in the log and on the page.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
from quart import Quart, current_app

from .. import messages
from ..config import Config, ConfigError, Server, _http_url, _server_name
from ..model.catalog import Catalog
from ..storage import Database, audit
from ..storage import settings as stored
from .fields import PINNED_BY, SERVERS, names_of, parser_of, pinned, variable_of
from .sealing import Unsealable, seal, unseal

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
Listener = Callable[[Config], None]


@dataclass(frozen=True, slots=True)
class Loaded:
    """The settings as last read: the Config they make, their version, the stored rows, what was wrong."""

    config: Config
    version: int
    rows: Mapping[str, str]
    problems: tuple[str, ...] = ()


class Conflict(Exception):
    """Someone else changed these settings since the form was shown."""


class Unchanged(Exception):
    """The form changes nothing."""


class Contradiction(ValueError):
    """Settings each valid that cannot go together; `variable` names the one to blame."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(message)
        self.variable = variable


def servers_from(text: str, secret_key: str) -> tuple[Server, ...]:
    """The servers a stored row lists, keys unsealed (ValueError or Unsealable when it cannot be read)."""
    listed = orjson.loads(text)
    if not isinstance(listed, list):
        raise ValueError("not a list of servers")
    servers = []
    for entry in listed:
        if not isinstance(entry, dict):
            raise ValueError("not a server")
        key = entry.get("key") or ""
        servers.append(
            Server(
                _server_name(str(entry["name"])),
                _http_url(str(entry["url"])),
                unseal(key, secret_key) if key else "",
            )
        )
    if len({server.name for server in servers}) < len(servers):
        raise ValueError("a server named twice")
    return tuple(servers)


def servers_text(servers: list[dict[str, str]]) -> str:
    """A row of servers: each its name, URL and sealed key ("" for none)."""
    return orjson.dumps([{"name": s["name"], "url": s["url"], "key": s["key"]} for s in servers]).decode()


def read_value(name: str, text: str, secret_key: str) -> Any:
    """A stored row's value (ValueError, or Unsealable, when it cannot be read)."""
    return servers_from(text, secret_key) if name == SERVERS else parser_of(name)(text)


def effective(base: Config, rows: Mapping[str, str]) -> tuple[Config, tuple[str, ...]]:
    """The settings the stored rows make over `base`, and a sentence for each row left out.

    When the rows contradict each other or the environment, the app runs on `base` alone.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, text in rows.items():
        if name not in PINNED_BY or pinned(base, name):
            continue
        try:
            values[name] = read_value(name, text, base.secret_key)
        except (ValueError, KeyError, TypeError, Unsealable):
            problems.append(messages.setting_damaged(variable_of(name)))
    try:
        return together(base, values), tuple(problems)
    except Contradiction as error:
        return base, (*problems, messages.settings_contradict(str(error)))


def together(base: Config, values: Mapping[str, Any]) -> Config:
    """The settings with these values, checked as a whole (Contradiction naming the variable to blame)."""
    try:
        config = replace(base, **values)
        config.check()
        Catalog(config)  # names servers and models that exist; makes no connection
    except ConfigError as error:
        variable, _, _ = str(error).partition(":")
        raise Contradiction(variable, str(error)) from None
    return config


def fingerprint(rows: Mapping[str, str], section: str) -> str:
    """What a section's stored rows were when its form was shown (a form posted after a change is refused)."""
    mine = sorted((name, rows[name]) for name in names_of(section) if name in rows)
    return hashlib.sha256(orjson.dumps(mine)).hexdigest()[:32]


class Settings:
    """One instance's settings: the environment's, the database's over them, reloaded as their version moves.

    `loaded` is what was read last.
    """

    def __init__(self, base: Config, db: Database, apply: Listener) -> None:
        self.base = base
        self.db = db
        self.listeners: list[Listener] = [apply]
        self.loaded = Loaded(base, -1, {})
        self._reloading = asyncio.Lock()

    async def refresh(self) -> None:
        """Reload when another instance (or this one) changed the settings since the last read."""
        if await stored.version(self.db) != self.loaded.version:
            await self.reload()

    async def reload(self) -> None:
        """Read the settings now and apply them (the version first: a change after it is read next time)."""
        async with self._reloading:
            version = await stored.version(self.db)
            rows = await stored.stored(self.db)
            config, problems = effective(self.base, rows)
            for problem in problems:
                if problem not in self.loaded.problems:
                    log.error("settings: %s", problem)
            changed = config != self.loaded.config
            self.loaded = Loaded(config, version, rows, problems)
            if changed:
                for listener in self.listeners:
                    listener(config)

    async def keep_polling(self, seconds: float = POLL_SECONDS) -> None:
        """Read the version every `seconds` until cancelled."""
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.refresh()
            except Exception:
                log.warning("settings: their version could not be read; trying again", exc_info=True)

    async def save(
        self,
        section: str,
        seen: str,
        change: Callable[[Mapping[str, str]], dict[str, str]],
        record: Callable[[Any, Mapping[str, str], dict[str, str]], Any],
    ) -> None:
        """Store what `change` makes of a section's rows, all or nothing, with the version locked.

        `change` gets the stored rows and returns the rows to write (raising ValueError to refuse);
        `record` writes the audit lines in the same transaction. Conflict when the section changed
        since `seen`; Unchanged when nothing would.
        """

        async def write(tx: Any) -> None:
            await stored.take(tx, self.db.dialect)
            rows = await stored.stored(tx)
            if fingerprint(rows, section) != seen:
                raise Conflict()
            written = {name: text for name, text in change(rows).items() if rows.get(name) != text}
            if not written:
                raise Unchanged()
            values = {
                name: read_value(name, text, self.base.secret_key)
                for name, text in written.items()
                if name in PINNED_BY and not pinned(self.base, name)
            }
            kept, _ = effective(self.base, {name: text for name, text in rows.items() if name not in written})
            together(kept, values)
            for name, text in written.items():
                await stored.put(tx, self.db.dialect, name, text, None)
            await record(tx, rows, written)

        await self.db.transact(write)
        await self.reload()

    def seal(self, plain: str) -> str:
        """A secret sealed under this instance's SECRET_KEY."""
        return seal(plain, self.base.secret_key)


async def rotate(db: Database, old_secret: str, new_secret: str) -> int:
    """Seal every stored secret again under the new SECRET_KEY; return how many were.

    A secret the new key already opens is left as it is, so running it twice does no harm.
    """

    async def work(tx: Any) -> int:
        await stored.take(tx, db.dialect)
        rows = await stored.stored(tx)
        if SERVERS not in rows:
            return 0
        listed = orjson.loads(rows[SERVERS])
        turned = 0
        for entry in listed:
            if not entry.get("key"):
                continue
            try:
                unseal(entry["key"], new_secret)
                continue
            except Unsealable:
                entry["key"] = seal(unseal(entry["key"], old_secret), new_secret)
                turned += 1
        await stored.put(tx, db.dialect, SERVERS, servers_text(listed), None)
        await audit.record(tx, "sealed the stored keys again", subject="SECRET_KEY", detail=f"{turned} keys")
        return turned

    return await db.transact(work)


def get_settings() -> Settings:
    """The settings of the app handling the current request."""
    return current_app.extensions["settings"]


def init_app(app: Quart) -> None:
    """Read the stored settings once the database is open, then keep reading their version.

    Call after storage.init_app and before anything that reads the settings as it starts.
    """
    base: Config = app.config["ANSWERS"]

    def apply(config: Config) -> None:
        app.config["ANSWERS"] = config
        app.jinja_env.globals.update(
            model_name=config.model_name, max_question_chars=config.max_question_chars
        )

    @app.while_serving
    async def settings() -> AsyncGenerator[None]:
        loaded = Settings(base, app.extensions["db"], apply)
        app.extensions["settings"] = loaded
        try:
            await loaded.reload()
        except Exception:
            log.error("settings: the stored settings could not be read; running on the environment's")
        poll = asyncio.create_task(loaded.keep_polling(app.config.get("SETTINGS_POLL_SECONDS", POLL_SECONDS)))
        try:
            yield
        finally:
            poll.cancel()
            await asyncio.gather(poll, return_exceptions=True)
            app.config["ANSWERS"] = base
