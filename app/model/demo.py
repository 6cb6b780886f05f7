"""The built-in demo model: an honest canned answer, for a first run with no model configured."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from . import Usage

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
    """The canned answer streamed word by word."""

    name = "demo"

    def __init__(self, delay: float = 0.03) -> None:
        self.delay = delay

    async def listed(self) -> list[str]:
        return [self.name]

    def warm(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def stream(
        self,
        sent: list[dict[str, Any]],
        usage: Usage,
        pace: Callable[[], float] | None = None,
        model: str | None = None,
        temperature: float | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[str]:
        question = _text(sent[-1].get("content"))
        tokens = _TOKENS.findall(DEMO_ANSWER.format(chars=len(question)))
        for token in tokens:
            await asyncio.sleep(self.delay)
            yield token
        usage.prompt_tokens = sum(len(_text(m.get("content")).split()) for m in sent)
        usage.completion_tokens = len(tokens)
        usage.finish_reason = "stop"


def _text(content: Any) -> str:
    """A message's text, whether its content is a string or a list of parts (the API's)."""
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""
