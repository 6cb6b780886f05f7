"""OpenAI-compatible servers: one openai SDK client on aiohttp for each, its answers read as raw events.

The SDK client gives every request its address, headers and authentication, and lists
the server's models itself. An answer's request is carried by aiohttp (HTTP parsed in
C, proxies from the environment) and its streamed reply read as raw server-sent events
and parsed with orjson: this runs once per token, and the SDK's own transport and typed
chunks cost half as much again per answer (docs/performance.md has the figures). Error
statuses become plain sentences for the person, and a line with what to check for the operator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import openai
import orjson
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from .. import messages
from ..config import Config
from . import ModelError, Unlisted, Usage

log = logging.getLogger(__name__)

RETRIES = 2
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
BACKOFF_SECONDS = 0.5
# Every answer streaming at once holds a connection: room for thousands.
MAX_CONNECTIONS = 10_000
# A page waits for the list of models: a server slow to give it is asked again later.
LIST_TIMEOUT_SECONDS = 3.0


class _StatusError(Exception):
    """The model server answered with an error status."""

    def __init__(self, status: int, detail: str | None, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class _Silent(Exception):
    """The model sent nothing for as long as it may."""


class OpenAIModel:
    """An OpenAI-compatible server, its stream read as raw events to keep per-token work small."""

    def __init__(self, config: Config) -> None:
        self.name = config.llm_model
        self.timeout = config.llm_timeout
        self.list_timeout = min(config.llm_timeout, LIST_TIMEOUT_SECONDS)
        self.base_url = config.llm_base_url or "https://api.openai.com/v1"
        self.max_tokens = config.max_tokens
        self.temperature = config.temperature
        # Local servers (Ollama, llama.cpp, vLLM) accept any key but the SDK wants one. Retries
        # are this module's: an answer's are below, a list that failed is asked for again later.
        self.sdk = openai.AsyncOpenAI(
            api_key=config.openai_api_key or "not-needed",
            base_url=self.base_url,
            max_retries=0,
            http_client=openai.DefaultAioHttpClient(trust_env=True),
        )
        self.url = f"{str(self.sdk.base_url).rstrip('/')}/chat/completions"
        built = {**self.sdk.default_headers, **self.sdk.auth_headers}
        self.headers = {name: value for name, value in built.items() if isinstance(value, str)}
        self.headers["Accept"] = "text/event-stream"
        self.proxy, self.proxy_headers = _proxy_for(self.url)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The connection pool, made in the event loop that uses it."""
        if self._session is None:
            connect = min(self.timeout, 10.0)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
                # No read timeout here: aiohttp would re-arm a timer on every chunk, a tenth of
                # the process's CPU at a thousand streams. _Silence watches instead.
                timeout=aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect),
            )
        return self._session

    def warm(self) -> None:
        return None

    async def close(self) -> None:
        await self.sdk.close()
        if self._session is not None:
            await self._session.close()

    async def listed(self) -> list[str]:
        """The ids of the models the server lists; Unlisted (and a line in the log) when it cannot say."""
        try:
            async with asyncio.timeout(self.list_timeout):
                page = await self.sdk.models.list()
        except openai.APIStatusError as error:
            self._log_status("the list of models", error.status_code, _error_text(error.body))
            raise Unlisted(error.status_code) from None
        except (openai.APIError, TimeoutError, ValueError) as error:
            cause = _first_cause(error)
            log.warning(
                "model server at %s could not list its models (LLM_BASE_URL): %r", self.base_url, cause
            )
            raise Unlisted(repr(cause)) from None
        return [model.id for model in page.data]

    def _log_status(self, what: str, status: int, detail: str | None) -> None:
        """Tell the operator where an error status came from, and what to check."""
        log.warning(
            "%s at %s answered %s: %s%s",
            what,
            self.base_url,
            status,
            detail or "no reason given",
            _operator_hint(status),
        )

    async def stream(
        self,
        sent: list[dict[str, Any]],
        usage: Usage,
        pace: Callable[[], float] | None = None,
        model: str | None = None,
        temperature: float | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[str]:
        name = model or self.name
        params: dict[str, Any] = {
            "model": name,
            "messages": sent,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": self.max_tokens,
        }
        if temperature is None:
            temperature = self.temperature
        if temperature is not None:
            params["temperature"] = temperature
        if options:
            params = {key: value for key, value in (params | dict(options)).items() if value is not None}
        # orjson's bytes keep all the room reserved while they were written, several times their
        # length; the request waits for its reply (a slow model's first token, a burst) as an exact copy.
        body: bytes | None = bytes(memoryview(orjson.dumps(params)))
        finished = replied = False
        try:
            # The deadline covers connecting, retries and the first token; after that
            # _Silence catches a model that goes quiet.
            async with asyncio.timeout(self.timeout) as deadline:
                for attempt in range(RETRIES + 1):
                    try:
                        async with self.session.post(
                            self.url,
                            data=body,
                            headers=self.headers,
                            proxy=self.proxy,
                            proxy_headers=self.proxy_headers,
                        ) as response:
                            if response.status >= 400:
                                raise await _status_error(response)
                            replied = True
                            # Sent, and never again (only a request without a reply is retried): the
                            # reply may stream for minutes without its request held beside it.
                            body = None
                            with _Silence(self.timeout) as silence:
                                async for chunks in _events(silence.watch(_reads(response, pace))):
                                    # The text of one read goes on as one piece, however many tokens it holds.
                                    texts: list[str] = []
                                    failure: ModelError | None = None
                                    for chunk in chunks:
                                        if chunk is None:
                                            finished = True
                                            break
                                        if error := chunk.get("error"):
                                            failure = ModelError(messages.model_failed(_error_text(error)))
                                            break
                                        if counts := chunk.get("usage"):
                                            usage.prompt_tokens = counts.get("prompt_tokens")
                                            usage.completion_tokens = counts.get("completion_tokens")
                                        for choice in chunk.get("choices") or ():
                                            if reason := choice.get("finish_reason"):
                                                finished = True
                                                usage.finish_reason = reason
                                            delta = choice.get("delta") or {}
                                            if calls := delta.get("tool_calls"):
                                                usage.add_tool_calls(calls)
                                                if deadline.when() is not None:
                                                    deadline.reschedule(None)
                                            if text := delta.get("content"):
                                                texts.append(text)
                                    if texts:
                                        if deadline.when() is not None:
                                            deadline.reschedule(None)
                                        yield "".join(texts)
                                    if failure is not None:
                                        raise failure
                                    if chunks and chunks[-1] is None:
                                        break
                        break
                    except (_StatusError, aiohttp.ClientConnectionError) as error:
                        if replied:
                            raise
                        await _pause_before_retry(error, attempt, deadline)
        except ModelError:
            raise
        except TimeoutError:
            raise ModelError(messages.model_did_not_answer(self.timeout), timed_out=True) from None
        except _StatusError as error:
            # The person who asked reads plain words; the operator reads where and why.
            self._log_status(f"model {name}", error.status, error.detail)
            raise ModelError(messages.model_refused(error.status, name), status=error.status) from None
        except _Silent:
            raise ModelError(messages.model_went_quiet(self.timeout), timed_out=True) from None
        except (aiohttp.ClientError, OSError):
            if not replied:
                log.warning("model server at %s could not be reached (LLM_BASE_URL)", self.base_url)
                raise ModelError(messages.MODEL_UNREACHABLE) from None
            raise ModelError(messages.MODEL_DROPPED) from None
        if not finished:
            raise ModelError(messages.MODEL_ENDED_EARLY)


def _proxy_for(url: str) -> tuple[URL | None, dict[str, str]]:
    """The proxy the environment names for `url` (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`), with credentials.

    Read once per server: aiohttp's `trust_env` reads the environment and `~/.netrc` again in
    a worker thread for every request, two trips through the thread pool before each answer
    that a saturated event loop made its streams wait for.
    """
    try:
        proxy, auth = get_env_proxy_for_url(URL(url))
    except LookupError:
        return None, {}
    return proxy, {"Proxy-Authorization": auth.encode()} if auth is not None else {}


async def _reads(response: aiohttp.ClientResponse, pace: Callable[[], float] | None) -> AsyncIterator[bytes]:
    """The reply's bytes, all that arrived at each wake-up.

    Between reads of a busy stream it waits as `pace` says with the socket not read, so
    that its tokens gather in the kernel and one wake-up takes them all in.
    """
    transport = response.connection.transport if response.connection is not None else None
    async for data in response.content.iter_any():
        yield data
        if pace is not None and transport is not None and (wait := pace()) > 0:
            transport.pause_reading()
            try:
                await asyncio.sleep(wait)
            finally:
                if not transport.is_closing():
                    transport.resume_reading()


class _Silence:
    """A read timeout costing one timer per stream, not one per chunk: it reads the clock when it fires."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.loop = asyncio.get_running_loop()
        self.last = self.loop.time()
        self.fired = False
        self.task = asyncio.current_task()
        self.handle: asyncio.TimerHandle | None = None

    def __enter__(self) -> _Silence:
        self.handle = self.loop.call_later(self.seconds, self._check)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: object) -> None:
        if self.handle is not None:
            self.handle.cancel()
        if (
            self.fired
            and kind is asyncio.CancelledError
            and self.task is not None
            and self.task.uncancel() == 0
        ):
            raise _Silent from None

    async def watch(self, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The body's bytes, each arrival noted."""
        async for data in body:
            self.last = self.loop.time()
            yield data

    def _check(self) -> None:
        quiet = self.loop.time() - self.last
        if quiet < self.seconds:
            self.handle = self.loop.call_later(self.seconds - quiet, self._check)
        elif self.task is not None:
            self.fired = True
            self.task.cancel()


async def _status_error(response: aiohttp.ClientResponse) -> _StatusError:
    """The error an error status stands for, with the server's own words when it gave some."""
    detail = None
    try:
        body = orjson.loads(await response.read())
        error = body.get("error") if isinstance(body, dict) else None
        detail = _error_text(error) if error else None
    except (orjson.JSONDecodeError, aiohttp.ClientError, OSError):
        pass
    return _StatusError(response.status, detail, _retry_after(response.headers))


async def _pause_before_retry(
    error: _StatusError | aiohttp.ClientConnectionError, attempt: int, deadline: asyncio.Timeout
) -> None:
    """Wait before trying again, or re-raise when retrying cannot help or would miss the deadline."""
    if attempt >= RETRIES or isinstance(error, _StatusError) and error.status not in RETRY_STATUSES:
        raise error
    wait = (error.retry_after if isinstance(error, _StatusError) else None) or BACKOFF_SECONDS * 2**attempt
    when = deadline.when()
    if when is not None and asyncio.get_running_loop().time() + wait >= when:
        raise error
    await asyncio.sleep(wait)


def _retry_after(headers: Any) -> float | None:
    """The wait a 429 or 503 asked for, in seconds (None when it asked for none)."""
    for name, scale in (("retry-after-ms", 1000), ("retry-after", 1)):
        try:
            value = float(headers.get(name, "")) / scale
        except ValueError:
            continue
        if 0 < value < 60:
            return value
    return None


async def _events(body: AsyncIterator[bytes]) -> AsyncIterator[list[dict[str, Any] | None]]:
    """Parse a server-sent event stream of JSON chunks, a read's chunks together; None stands for `[DONE]`.

    Reading bytes and splitting on blank lines ourselves costs a fraction of the SDK's
    typed chunks or its line iterator; a busy stream reads many tokens at once, and they
    go on together rather than one trip through the generators each.
    """
    pending = b""
    async for data in body:
        pending += data
        if b"\n\n" not in pending and b"\r\n\r\n" not in pending:
            continue
        if b"\r" in pending:
            pending = pending.replace(b"\r\n", b"\n")
        *events, pending = pending.split(b"\n\n")
        parsed: list[dict[str, Any] | None] = []
        for event in events:
            if event.startswith(b"data:") and b"\n" not in event:
                payload = event[5:].strip()
            else:
                payload = b"\n".join(
                    line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:")
                )
            if not payload:
                continue
            if payload == b"[DONE]":
                parsed.append(None)
                yield parsed
                return
            try:
                parsed.append(_parse_chunk(payload))
            except ModelError:
                # What came before the unreadable chunk is kept, as it would have been token by token.
                if parsed:
                    yield parsed
                raise
        if parsed:
            yield parsed


def _parse_chunk(data: bytes) -> dict[str, Any]:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ModelError(messages.MODEL_UNREADABLE) from None
    if not isinstance(chunk, dict):
        raise ModelError(messages.MODEL_UNREADABLE)
    return chunk


def _first_cause(error: BaseException) -> BaseException:
    """The error the others were raised from (the SDK reports a refused connection as a timeout)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or "unknown error")[:300]
    return str(error)[:300]


def _operator_hint(status: int) -> str:
    """What an operator may check for an error status."""
    if status in (401, 403):
        return " (check OPENAI_API_KEY or the server's LLM_API_KEY_<NAME>)"
    if status == 404:
        return " (check LLM_MODEL or LLM_MODELS)"
    return ""
