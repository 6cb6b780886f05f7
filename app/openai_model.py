"""OpenAI-compatible servers through the openai SDK, read as a raw event stream."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import openai
import orjson

from .config import Config
from .llm import ModelError, Usage
from .model_transport import LeanTransport

RETRIES = 2
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
BACKOFF_SECONDS = 0.5


class OpenAIModel:
    """An OpenAI-compatible server, read as a raw event stream to keep per-chunk work small."""

    def __init__(self, config: Config) -> None:
        self.name = config.llm_model
        self.timeout = config.llm_timeout
        self.base_url = config.llm_base_url or "https://api.openai.com/v1"
        self.max_tokens = config.max_tokens
        self.temperature = config.temperature
        self.client = openai.AsyncOpenAI(
            # Local servers (Ollama, llama.cpp, vLLM) accept any key but the SDK wants one.
            api_key=config.openai_api_key or "not-needed",
            base_url=self.base_url,
            timeout=httpx2.Timeout(config.llm_timeout, connect=min(config.llm_timeout, 10.0)),
            # Retries happen in stream(), within the answer's deadline, so a failing
            # server is reported as itself rather than as a timeout.
            max_retries=0,
            http_client=_http_client(),
        )

    async def close(self) -> None:
        await self.client.close()

    async def stream(
        self, messages: list[dict[str, str]], usage: Usage, pace: Callable[[], float] | None = None
    ) -> AsyncIterator[str]:
        params: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": self.max_tokens,
        }
        if self.temperature is not None:
            params["temperature"] = self.temperature
        finished = False
        try:
            # The deadline covers connecting, retries and the first token; after that
            # the client's read timeout catches a model that goes quiet.
            async with asyncio.timeout(self.timeout) as deadline:
                for attempt in range(RETRIES + 1):
                    try:
                        # The generic post skips the SDK's walk over the typed parameters; the
                        # raw response comes back unread, its status already checked.
                        response = await self.client.post(
                            "/chat/completions", body=params, cast_to=httpx2.Response,
                            stream=True, stream_cls=openai.AsyncStream[Any],
                        )
                        try:
                            async for chunk in _events(response.aiter_bytes(), pace):
                                if chunk is None:
                                    finished = True
                                    break
                                if error := chunk.get("error"):
                                    raise ModelError(f"The model failed while answering: {_error_text(error)}")
                                if counts := chunk.get("usage"):
                                    usage.prompt_tokens = counts.get("prompt_tokens")
                                    usage.completion_tokens = counts.get("completion_tokens")
                                for choice in chunk.get("choices") or ():
                                    if choice.get("finish_reason"):
                                        finished = True
                                    text = (choice.get("delta") or {}).get("content")
                                    if text:
                                        if deadline.when() is not None:
                                            deadline.reschedule(None)
                                        yield text
                        finally:
                            await response.aclose()
                        break
                    except (openai.APIStatusError, openai.APIConnectionError) as error:
                        await _pause_before_retry(error, attempt, deadline)
        except ModelError:
            raise
        except (TimeoutError, openai.APITimeoutError):
            raise ModelError(f"The model did not answer within {self.timeout:g} s.") from None
        except openai.APIStatusError as error:
            raise ModelError(_status_message(error, self.name)) from None
        except openai.APIConnectionError:
            raise ModelError(f"Could not reach the model server at {self.base_url}.") from None
        except httpx2.TimeoutException:
            raise ModelError(f"The model stopped sending for {self.timeout:g} s; the answer is cut off.") from None
        except httpx2.HTTPError:
            raise ModelError("The connection to the model dropped; the answer is cut off.") from None
        if not finished:
            raise ModelError("The model ended the answer early; it may be cut off.")


def _http_client() -> httpx2.AsyncClient | None:
    """The SDK's HTTP client on the lean transport; the SDK's own when a proxy is configured."""
    if urllib.request.getproxies():
        # Proxies from the environment (HTTPS_PROXY…) need the SDK's transport, which speaks to them.
        return None
    return openai.DefaultAsyncHttpxClient(transport=LeanTransport())


async def _pause_before_retry(
    error: openai.APIStatusError | openai.APIConnectionError, attempt: int, deadline: asyncio.Timeout
) -> None:
    """Wait before trying again, or re-raise when retrying cannot help or would miss the deadline."""
    if isinstance(error, openai.APITimeoutError) or attempt >= RETRIES:
        raise error
    if isinstance(error, openai.APIStatusError) and error.status_code not in RETRY_STATUSES:
        raise error
    wait = _retry_after(error) or BACKOFF_SECONDS * 2**attempt
    when = deadline.when()
    if when is not None and asyncio.get_running_loop().time() + wait >= when:
        raise error
    await asyncio.sleep(wait)


def _retry_after(error: openai.APIStatusError | openai.APIConnectionError) -> float | None:
    """The wait a 429 or 503 asked for, in seconds (None when it asked for none)."""
    headers = error.response.headers if isinstance(error, openai.APIStatusError) else {}
    for name, scale in (("retry-after-ms", 1000), ("retry-after", 1)):
        try:
            value = float(headers.get(name, "")) / scale
        except ValueError:
            continue
        if 0 < value < 60:
            return value
    return None


async def _events(
    body: AsyncIterator[bytes], pace: Callable[[], float] | None = None
) -> AsyncIterator[dict[str, Any] | None]:
    """Parse a server-sent event stream of JSON chunks; None stands for `[DONE]`.

    Reading bytes and splitting on blank lines ourselves costs a fraction of the
    SDK's typed chunks or its line iterator, and this runs once per token. Between
    reads of a busy stream it waits as `pace` says, so that one wake-up takes in
    several tokens (the transport hands over all that arrived meanwhile).
    """
    pending = b""
    async for data in body:
        pending += data
        if b"\n\n" not in pending and b"\r\n\r\n" not in pending:
            continue
        if b"\r" in pending:
            pending = pending.replace(b"\r\n", b"\n")
        *events, pending = pending.split(b"\n\n")
        for event in events:
            if event.startswith(b"data:") and b"\n" not in event:
                payload = event[5:].strip()
            else:
                payload = b"\n".join(line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:"))
            if not payload:
                continue
            if payload == b"[DONE]":
                yield None
                return
            yield _parse_chunk(payload)
        if pace is not None and (wait := pace()) > 0:
            await asyncio.sleep(wait)


def _parse_chunk(data: bytes) -> dict[str, Any]:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ModelError("The model sent a response this app cannot read.") from None
    if not isinstance(chunk, dict):
        raise ModelError("The model sent a response this app cannot read.")
    return chunk


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or "unknown error")[:300]
    return str(error)[:300]


def _status_message(error: openai.APIStatusError, model: str) -> str:
    status = error.status_code
    if status in (401, 403):
        return f"The model server refused the API key ({status}). Check OPENAI_API_KEY."
    if status == 404:
        return f"The model server does not know the model “{model}” (404). Check LLM_MODEL."
    if status == 429:
        return "The model server is busy or out of quota (429). Try again in a moment."
    if status >= 500:
        return f"The model server failed ({status}). Try again in a moment."
    detail = error.body.get("message") if isinstance(error.body, dict) else None
    return f"The model server rejected the question ({status}): {detail or error.message}"[:500]


