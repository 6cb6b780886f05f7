"""The model: any OpenAI-compatible server, streamed, or the built-in demo model."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config import Config


class ModelError(Exception):
    """The model could not answer; the message is meant for the person who asked.

    `status` is the error status the model server answered with (None when it gave none),
    and `timed_out` says it kept silent for as long as it may: what a program asking
    through the API is told besides the sentence.
    """

    def __init__(self, message: str, status: int | None = None, timed_out: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.timed_out = timed_out


class Unlisted(Exception):
    """A server's list of models could not be read (the log says why)."""


@dataclass(slots=True)
class Usage:
    """What the model reports besides the text: token counts, why it stopped, the tools it called."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    # Each call whole, joined from the pieces streamed: {"id", "type", "function": {"name", "arguments"}}.
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    def add_tool_calls(self, deltas: Any) -> None:
        """Join a chunk's pieces of tool calls to the calls so far (a piece names its call by index)."""
        for delta in deltas if isinstance(deltas, list) else ():
            if not isinstance(delta, dict) or not isinstance(index := delta.get("index", 0), int):
                continue
            while len(self.tool_calls) <= index:
                self.tool_calls.append(
                    {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
                )
            call = self.tool_calls[index]
            if isinstance(delta.get("id"), str):
                call["id"] = delta["id"]
            if isinstance(delta.get("type"), str):
                call["type"] = delta["type"]
            function = delta.get("function")
            if isinstance(function, dict):
                for name in ("name", "arguments"):
                    if isinstance(function.get(name), str):
                        call["function"][name] += function[name]


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
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[str]:
        """Yield the answer to the chat messages `sent` as it arrives; fill `usage` at the end.

        `pace` says how long text may gather between two reads of a busy stream (the
        browser receives it in batches anyway); a model may read more eagerly. `model`
        names the server's model to ask (by default, `name`); `temperature` overrides TEMPERATURE.
        `options` are further fields of the request (tools, stop, max_tokens…; None drops a field).
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
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[str]:
        loading = self._loading
        if loading is not None and loading.done() and loading.exception() is None:
            # Once loaded, the client's own stream: no step of ours per token.
            return loading.result().stream(sent, usage, pace, model, temperature, options)
        return self._stream_once_loaded(sent, usage, pace, model, temperature, options)

    async def _stream_once_loaded(
        self,
        sent: list[dict[str, Any]],
        usage: Usage,
        pace: Callable[[], float] | None,
        model: str | None,
        temperature: float | None,
        options: Mapping[str, Any] | None,
    ) -> AsyncIterator[str]:
        self.warm()
        assert self._loading is not None
        client = await self._loading
        async for text in client.stream(sent, usage, pace, model, temperature, options):
            yield text

    async def listed(self) -> list[str]:
        self.warm()
        assert self._loading is not None
        return await (await self._loading).listed()

    async def close(self) -> None:
        if self._loading is not None and self._loading.done() and self._loading.exception() is None:
            await self._loading.result().close()
