"""The models a person may pick: those LLM_MODELS names, or those each server lists at /v1/models.

Each model is labelled by the server that runs it (`model@server` in forms and settings).
A server's list is asked for at most every few minutes, through the client that carries
its answers (model/openai.py). Hidden models (LLM_HIDDEN_MODELS) are neither listed nor accepted;
a model kept for some groups is listed and accepted only for their members (`Permitted`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from .. import messages
from ..config import Config, ConfigError
from . import Model, ModelError, OnDemandModel, Unlisted, Usage, make_model

LIST_SECONDS = 300.0
RETRY_SECONDS = 30.0
# A server's list beyond this many models is cut: the picker is a menu, not a catalogue.
MAX_LISTED = 200
# As long as the exchanges' model column allows.
MAX_NAME_CHARS = 100


@dataclass(frozen=True, slots=True)
class Choice:
    """One model on one server."""

    model: str
    server: str

    @property
    def key(self) -> str:
        """How forms and settings name it."""
        return f"{self.model}@{self.server}"


# Which models one person may use (people/groups.py decides it from their groups); None: every model.
type Permitted = Callable[[Choice], bool] | None


def label(choice: Choice, choices: list[Choice], names: Mapping[str, str] | None = None) -> str:
    """How a picker names a model: its display name when it has one (MODEL_LABELS); alone on one
    server; else with its server's name, or an address's host."""
    if names and (named := names.get(choice.key)):
        return named
    if len({other.server for other in choices}) <= 1:
        return choice.model
    host = urlsplit(f"//{choice.server}").hostname if ":" in choice.server else None
    return f"{choice.model} · {host or choice.server}"


def primary_server_name(config: Config) -> str:
    """The label of the server LLM_BASE_URL names: LLM_SERVER_NAME, else its host (OpenAI without one)."""
    if config.llm_server_name:
        return config.llm_server_name
    if config.demo:
        return "built-in"
    if not config.llm_base_url:
        return "OpenAI"
    return urlsplit(config.llm_base_url).netloc or config.llm_base_url


class Catalog:
    """The servers, a client for each, and the models they offer."""

    def __init__(self, config: Config, previous: Catalog | None = None) -> None:
        primary = primary_server_name(config)
        self.default = Choice(config.model_name, primary)
        self.clients: dict[str, tuple[Config, Model]] = {primary: (config, make_model(config))}
        for server in config.llm_servers:
            if server.name in self.clients:
                raise ConfigError(
                    f"LLM_SERVERS: {server.name!r} is already the name of LLM_BASE_URL's server"
                )
            settings = replace(config, llm_base_url=server.base_url, openai_api_key=server.api_key)
            self.clients[server.name] = (settings, OnDemandModel(settings))
        self.models: dict[str, Model] = {name: model for name, (_, model) in self.clients.items()}
        self.hidden = frozenset(config.llm_hidden_models)
        self.fixed = [self._named(entry) for entry in config.llm_models]
        if config.default_model:
            self.default = self._named(config.default_model, "DEFAULT_MODEL")
        self._listed: dict[str, tuple[float, asyncio.Task[list[str]]]] = {}
        # Clients whose server changed, kept until the app stops: answers may still be streaming from them.
        self.retired: list[Model] = []
        if previous is not None:
            self._take_over(previous)

    def _take_over(self, previous: Catalog) -> None:
        """Keep the clients (and lists of models) of the servers whose settings did not change."""
        self.retired = previous.retired
        for name, (settings, model) in previous.clients.items():
            ours = self.clients.get(name)
            if ours is not None and _same_client(ours[0], settings):
                self.clients[name] = (settings, model)
                self.models[name] = model
                if name in previous._listed:
                    self._listed[name] = previous._listed[name]
            else:
                self.retired.append(model)

    def _named(self, entry: str, variable: str = "LLM_MODELS") -> Choice:
        model, at, server = entry.rpartition("@")
        if len(model or entry) > MAX_NAME_CHARS:
            raise ConfigError(f"{variable}: {entry!r} is longer than {MAX_NAME_CHARS} characters")
        if not at:
            return replace(self.default, model=entry)
        if server not in self.models:
            raise ConfigError(f"{variable}: {entry!r} names a server LLM_SERVERS does not define")
        return Choice(model, server)

    def is_hidden(self, choice: Choice) -> bool:
        return choice.model in self.hidden or choice.key in self.hidden

    def withdrawn(self, choice: Choice) -> bool:
        """Whether the operator took a model away: hidden, or left out of LLM_MODELS.

        A model a server stops listing is not withdrawn: the server may only be away.
        """
        return self.is_hidden(choice) or bool(self.fixed) and choice not in self.fixed

    def stored_choice(self, model: str | None, server: str | None) -> Choice:
        """The choice an exchange was stored with (the default server when it was stored without one)."""
        return Choice(model or self.default.model, server or self.default.server)

    def answering(self, model: str | None, server: str | None) -> Model:
        """The model that writes an answer stored for this model and server; a withdrawn one says so."""
        choice = self.stored_choice(model, server)
        return Withdrawn(choice.model) if self.withdrawn(choice) else self.model_for(server)

    async def everything(self) -> list[Choice]:
        """Every model the servers offer (or LLM_MODELS names), hidden ones too."""
        if self.fixed:
            return list(dict.fromkeys(self.fixed))
        lists = await asyncio.gather(*(self._listing(server) for server in self.models))
        found = [
            Choice(model, server) for server, names in zip(self.models, lists, strict=True) for model in names
        ]
        return list(dict.fromkeys(found))

    async def choices(self, permitted: Permitted = None) -> list[Choice]:
        """Every model a person may pick (of those `permitted`), the default first when it is one of them."""
        visible = [
            choice
            for choice in await self.everything()
            if not self.is_hidden(choice) and (permitted is None or permitted(choice))
        ]
        if self.default in visible:
            visible.remove(self.default)
            visible.insert(0, self.default)
        return visible

    async def find(self, key: str | None, permitted: Permitted = None) -> Choice | None:
        """The choice a form or setting names, if it may be used now (by this person)."""
        return next((choice for choice in await self.choices(permitted) if choice.key == key), None)

    async def first(self, *keys: str | None, permitted: Permitted = None) -> Choice | None:
        """The first of these names that may be used, else the default (or the first model left)."""
        choices = await self.choices(permitted)
        for key in keys:
            if key and (found := next((c for c in choices if c.key == key), None)):
                return found
        return choices[0] if choices else None

    def model_for(self, server: str | None) -> Model:
        """The client of a server (the default server's for an answer stored before servers had names)."""
        return self.models.get(server or "", self.models[self.default.server])

    def warm(self, server: str) -> None:
        self.model_for(server).warm()

    async def close(self) -> None:
        for model in [*self.models.values(), *self.retired]:
            await model.close()

    async def _listing(self, server: str) -> list[str]:
        loop = asyncio.get_running_loop()
        cached = self._listed.get(server)
        if cached is None or cached[0] <= loop.time():
            task = loop.create_task(self._fetch(server))
            cached = (loop.time() + LIST_SECONDS, task)
            self._listed[server] = cached
        task = cached[1]
        names = await asyncio.shield(task)
        if names:
            return names
        # The server could not be asked: ask again soon; meanwhile its configured model still answers.
        self._listed[server] = (min(cached[0], loop.time() + RETRY_SECONDS), task)
        return [self.default.model] if server == self.default.server else []

    async def _fetch(self, server: str) -> list[str]:
        """The model ids a server lists that fit a form (none when it cannot list them now)."""
        try:
            listed = await self.models[server].listed()
        except Unlisted:
            return []
        names = {name for name in listed if isinstance(name, str) and 0 < len(name) <= MAX_NAME_CHARS}
        return sorted(names)[:MAX_LISTED]


def _same_client(ours: Config, theirs: Config) -> bool:
    """Whether two servers' settings make the same client (so one may stand for the other)."""
    return all(
        getattr(ours, name) == getattr(theirs, name)
        for name in (
            "llm_base_url",
            "openai_api_key",
            "llm_model",
            "llm_timeout",
            "max_tokens",
            "temperature",
            "demo_delay",
        )
    )


class Withdrawn:
    """A model the operator withdrew after questions were stored for it: it answers nothing, and says why."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def stream(
        self,
        sent: list[dict[str, Any]],
        usage: Usage,
        pace: Callable[[], float] | None = None,
        model: str | None = None,
        temperature: float | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[str]:
        nothing: tuple[str, ...] = ()
        for text in nothing:  # an async generator, like every model's stream, that yields nothing
            yield text
        raise ModelError(messages.model_gone(model or self.name))

    async def listed(self) -> list[str]:
        return []

    def warm(self) -> None:
        pass

    async def close(self) -> None:
        pass
