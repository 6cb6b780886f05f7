"""The model client: any OpenAI-compatible server, streamed, or the built-in demo model."""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from quart import Quart, current_app

from .config import Config


class ModelError(Exception):
    """The model could not answer; the message is meant for the person who asked."""


@dataclass(slots=True)
class Usage:
    """Token counts reported by the model once the answer ends."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Model(Protocol):
    """Anything that streams an answer to a list of chat messages."""

    name: str

    def stream(
        self, messages: list[dict[str, str]], usage: Usage, pace: Callable[[], float] | None = None
    ) -> AsyncIterator[str]:
        """Yield the answer's text as it arrives; fill `usage` at the end.

        `pace` says how long text may gather between two reads of a busy stream (the
        browser receives it in batches anyway); a model may read more eagerly.
        """
        ...

    async def close(self) -> None:
        """Release the HTTP connections."""
        ...


def make_model(config: Config) -> Model:
    """Build the model the configuration asks for."""
    return DemoModel(config.demo_delay) if config.demo else LoadingModel(config)


class LoadingModel:
    """An OpenAI-compatible model whose client library loads in the background.

    Importing the openai SDK takes most of a second; loading it in a thread lets the
    app answer its first requests at once. A question asked before it is ready waits.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.name = config.llm_model
        self._loading: asyncio.Future[Model] | None = None

    def warm(self) -> None:
        """Start loading the client, if not yet started."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._load())

    async def _load(self) -> Model:
        module = await asyncio.to_thread(importlib.import_module, "app.openai_model")
        return module.OpenAIModel(self.config)

    async def loaded(self) -> Model:
        """The real model, once its client has loaded."""
        self.warm()
        assert self._loading is not None
        return await self._loading

    @property
    def client(self) -> Any:
        """The loaded SDK client (for tests that inspect its connection pool)."""
        assert self._loading is not None and self._loading.done()
        return self._loading.result().client  # type: ignore[attr-defined]

    def stream(
        self, messages: list[dict[str, str]], usage: Usage, pace: Callable[[], float] | None = None
    ) -> AsyncIterator[str]:
        loading = self._loading
        if loading is not None and loading.done() and loading.exception() is None:
            # Once loaded, the real stream itself: no extra step per token.
            return loading.result().stream(messages, usage, pace)
        return self._stream_once_loaded(messages, usage, pace)

    async def _stream_once_loaded(
        self, messages: list[dict[str, str]], usage: Usage, pace: Callable[[], float] | None
    ) -> AsyncIterator[str]:
        model = await self.loaded()
        async for text in model.stream(messages, usage, pace):
            yield text

    async def close(self) -> None:
        if self._loading is not None:
            await (await self._loading).close()


DEMO_ANSWER = """\
**This is the demo model**, built into GPT Answers so you can try the whole app offline. \
No real model read your question ({chars} characters); it was stored, and this answer \
streams in at a realistic pace and is stored too. Find both on the *History* page.

To get real answers, set one of these and restart:

- `OPENAI_API_KEY` — answers from OpenAI (`LLM_MODEL` picks the model, default `gpt-4o-mini`).
- `LLM_BASE_URL` — any OpenAI-compatible server, for example Ollama \
(`http://127.0.0.1:11434/v1`), vLLM or llama.cpp, with `LLM_MODEL` naming its model.

```sh
OPENAI_API_KEY=sk-... make run
```
"""

_TOKENS = re.compile(r"\S+\s*|\s+")


class DemoModel:
    """A canned, honest answer streamed word by word, for a first run with no model configured."""

    name = "demo"

    def __init__(self, delay: float = 0.03) -> None:
        self.delay = delay

    async def close(self) -> None:
        return None

    async def stream(
        self, messages: list[dict[str, str]], usage: Usage, pace: Callable[[], float] | None = None
    ) -> AsyncIterator[str]:
        question = messages[-1]["content"]
        tokens = _TOKENS.findall(DEMO_ANSWER.format(chars=len(question)))
        for token in tokens:
            await asyncio.sleep(self.delay)
            yield token
        usage.prompt_tokens = sum(len(m["content"].split()) for m in messages)
        usage.completion_tokens = len(tokens)


def init_app(app: Quart) -> None:
    """Make one model client per process before serving; close it after."""

    @app.before_serving
    async def open_model() -> None:
        model = make_model(app.config["ANSWERS"])
        if isinstance(model, LoadingModel):
            model.warm()
        app.extensions["model"] = model

    @app.after_serving
    async def close_model() -> None:
        model = app.extensions.pop("model", None)
        if model is not None:
            await model.close()


def get_model() -> Model:
    """The model of the app handling the current request."""
    return current_app.extensions["model"]
