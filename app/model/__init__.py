"""The model: any OpenAI-compatible server, streamed, or the built-in demo model."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import Config


class ModelError(Exception):
    """The model could not answer; the message is meant for the person who asked."""


class Unlisted(Exception):
    """A server's list of models could not be read (the log says why)."""


@dataclass(slots=True)
class Usage:
    """Token counts reported by the model once the answer ends."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Model(Protocol):
    """Anything that streams an answer to a list of chat messages."""

    name: str

    def stream(
        self,
        sent: list[dict[str, Any]],
        usage: Usage,
        pace: Callable[[], float] | None = None,
        model: str | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[str]:
        """Yield the answer to the chat messages `sent` as it arrives; fill `usage` at the end.

        `pace` says how long text may gather between two reads of a busy stream (the
        browser receives it in batches anyway); a model may read more eagerly. `model`
        names the server's model to ask (by default, `name`); `temperature` overrides TEMPERATURE.
        """
        ...

    async def listed(self) -> list[str]:
        """The ids of the models the server offers; Unlisted when it cannot say."""
        ...

    def warm(self) -> None:
        """Get ready to answer soon (load what the first answer needs); a no-op when ready."""
        ...

    async def close(self) -> None:
        """Release the HTTP connections."""
        ...


def make_model(config: Config) -> Model:
    """Build the model the settings ask for (call it inside the event loop that will use it)."""
    if config.demo:
        from .demo import DemoModel

        return DemoModel(config.demo_delay)
    return OnDemandModel(config)


class OnDemandModel:
    """An OpenAI-compatible model whose client library is loaded when it is first needed.

    The openai SDK (with aiohttp) is most of a second to import and a third of the
    process's memory: an instance nobody uses stays small and starts at once. The first
    question starts the loading in a thread (`warm`), so that it overlaps the browser
    opening the answer's stream; a stream (or a list of models) that comes before it is ready waits.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.name = config.llm_model
        self._loading: asyncio.Future[Model] | None = None

    def warm(self) -> None:
        """Start loading the client, unless it is loaded or loading."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._load())

    async def _load(self) -> Model:
        module = await asyncio.to_thread(importlib.import_module, "app.model.openai")
        return module.OpenAIModel(self.config)

    def stream(
        self,
        sent: list[dict[str, Any]],
        usage: Usage,
        pace: Callable[[], float] | None = None,
        model: str | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[str]:
        loading = self._loading
        if loading is not None and loading.done() and loading.exception() is None:
            # Once loaded, the client's own stream: no step of ours per token.
            return loading.result().stream(sent, usage, pace, model, temperature)
        return self._stream_once_loaded(sent, usage, pace, model, temperature)

    async def _stream_once_loaded(
        self,
        sent: list[dict[str, Any]],
        usage: Usage,
        pace: Callable[[], float] | None,
        model: str | None,
        temperature: float | None,
    ) -> AsyncIterator[str]:
        self.warm()
        assert self._loading is not None
        client = await self._loading
        async for text in client.stream(sent, usage, pace, model, temperature):
            yield text

    async def listed(self) -> list[str]:
        self.warm()
        assert self._loading is not None
        return await (await self._loading).listed()

    async def close(self) -> None:
        if self._loading is not None and self._loading.done() and self._loading.exception() is None:
            await self._loading.result().close()
