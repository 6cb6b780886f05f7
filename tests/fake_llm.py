"""Fake OpenAI-compatible chat server for tests and benchmarks, speaking real HTTP/1.1 and SSE.

Endpoints:
    GET  /v1/models             the models ``behavior.models`` names (one, ``behavior.model``, by default),
                                or the error ``models_status`` sets; ``require_key`` holds here too.
    POST /v1/chat/completions   ``chat.completion`` or, with ``stream: true``, ``chat.completion.chunk``
                                SSE events (role chunk, one chunk per token, finish chunk, optional
                                usage chunk when ``stream_options.include_usage``, then ``[DONE]``).
    GET  /_fake/behavior        current default behaviour as JSON.
    POST /_fake/behavior        merge the given JSON fields into the default behaviour.
    POST /_fake/reset           restore the start-up behaviour, clear recorded requests and counters.
    GET  /_fake/requests        recorded chat request bodies, newest last (at most 1000).
    GET  /_fake/stats           counters: requests, streams started/completed, open connections, chat
                                requests being answered right now (`responding`).

Behaviour fields (see ``Behavior``) are settable from Python (``FakeLLM.configure``), over HTTP
(``POST /_fake/behavior``) or per request: when the last user message contains
``[[fake:{json}]]``, e.g. ``[[fake:{"status": 500}]]`` or ``[[fake:{"tokens": 3, "delay": 0.1}]]``,
those fields override the behaviour for that request only.

Timing: ``first_token_delay`` is waited before the first content token and ``delay`` before every
content token, so a stream lasts about ``first_token_delay + n_tokens * delay``. Non-streaming
requests sleep the same total. ``malformed_after`` and ``error_event_after`` only affect streams;
``drop_after`` on a non-streaming request closes the connection without any response.
``max_tokens``/``max_completion_tokens`` in the request cap the tokens (finish_reason "length").
``tool_calls`` (a list of ``{"name", "arguments"}``) makes the model call those tools instead of
answering: streamed as ``delta.tool_calls`` (the name first, then the arguments in pieces), with
finish_reason "tool_calls".

CLI: ``python -m tests.fake_llm --host 127.0.0.1 --port 8901 [--tokens N] [--delay S]
[--first-token-delay S] [--answer TEXT] [--uvloop]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import http
import json
import re
import signal
import sys
import threading
import time
import types
import typing
import uuid
from dataclasses import dataclass
from typing import Any

MAX_RECORDED_REQUESTS = 1000
_OVERRIDE_RE = re.compile(r"\[\[fake:(\{.*?\})\]\]", re.DOTALL)
_TOKEN_RE = re.compile(r"\s*\S+\s*")
_CRLF = b"\r\n"
_LAST_CHUNK = b"0\r\n\r\n"
_WRITE_HIGH_WATER = 64 * 1024


@dataclass
class Behavior:
    """How the fake model answers; every field can be set from JSON."""

    answer: str = "Hello! This is the fake model answering."
    tokens: int | None = None
    delay: float = 0.0
    first_token_delay: float = 0.0
    status: int = 200
    hang: bool = False
    drop_after: int | None = None
    malformed_after: int | None = None
    error_event_after: int | None = None
    require_key: str | None = None
    model: str = "fake-model"
    # Every name /v1/models lists (just `model` when unset), the status it answers with, and answers
    # that depend on the model asked.
    models: list | None = None
    models_status: int = 200
    answer_by_model: dict | None = None
    # Tools the model calls instead of answering: each {"name": ..., "arguments": "<JSON text>"}.
    tool_calls: list | None = None
    # Token counts at which a stream waits for `release()` before going on: [10, 20] sends 10
    # tokens, waits for a release, sends 10 more, waits for a second release, sends the rest.
    pauses: list | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the behaviour as a JSON-ready dict."""
        return dataclasses.asdict(self)

    def merged(self, fields: dict[str, Any]) -> Behavior:
        """Return a copy with the given fields replaced, validating names and types."""
        return dataclasses.replace(self, **_validate_fields(fields))


class BadRequest(Exception):
    """A client error that is answered with an OpenAI-format 400."""


@functools.cache
def _field_types() -> dict[str, tuple[type, ...]]:
    """Map each Behavior field to the Python types it accepts."""
    hints = typing.get_type_hints(Behavior)
    accepted: dict[str, tuple[type, ...]] = {}
    for name, hint in hints.items():
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        # JSON has one number type, so floats also accept ints.
        accepted[name] = tuple(args) + ((int,) if float in args else ())
    return accepted


def _validate_fields(fields: Any) -> dict[str, Any]:
    """Check that fields is a dict of known Behavior fields with acceptable types."""
    if not isinstance(fields, dict):
        raise BadRequest("behaviour must be a JSON object")
    accepted = _field_types()
    for name, value in fields.items():
        if name not in accepted:
            raise BadRequest(f"unknown behaviour field {name!r}")
        allowed = accepted[name]
        # bool is an int subclass, but true/false is never a sensible count or status.
        if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
            raise BadRequest(f"bad value for behaviour field {name!r}: {value!r}")
    return fields


def tokens(answer: str) -> tuple[str, ...]:
    """The tokens an answer is streamed in (a word and the spaces around it each), joining back exactly."""
    return tuple(_TOKEN_RE.findall(answer)) or ((answer,) if answer else ())


@functools.lru_cache(maxsize=64)
def _tokens_for(answer: str, count: int | None) -> tuple[str, ...]:
    """Split the answer into tokens (or generate count tokens) so that they join back exactly."""
    if count is not None:
        return tuple(f"w{i} " for i in range(max(count, 0)))
    return tokens(answer)


@functools.lru_cache(maxsize=64)
def _encoded_tokens(answer: str, count: int | None) -> tuple[bytes, ...]:
    """Return the JSON-encoded tokens, cached so streaming does no per-token encoding."""
    return tuple(json.dumps(t).encode() for t in _tokens_for(answer, count))


def _dumps(obj: Any) -> bytes:
    """Encode compact JSON."""
    return json.dumps(obj, separators=(",", ":")).encode()


def _frame(payload: bytes) -> bytes:
    """Wrap bytes in one HTTP chunked-transfer frame."""
    return b"%x\r\n%b\r\n" % (len(payload), payload)


def _sse(obj: Any) -> bytes:
    """Encode one SSE data event already framed as an HTTP chunk."""
    return _frame(b"data: " + _dumps(obj) + b"\n\n")


def _reason(status: int) -> str:
    """Return the HTTP reason phrase for a status code."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    """Build a response status line and header block."""
    lines = [f"HTTP/1.1 {status} {_reason(status)}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _json_response(status: int, obj: Any, extra: list[tuple[str, str]] | None = None) -> bytes:
    """Build a complete JSON response with Content-Length."""
    body = _dumps(obj)
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    return _head(status, headers + (extra or [])) + body


_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def _error_response(status: int, message: str) -> bytes:
    """Build an OpenAI-format JSON error response."""
    kind, code = _ERROR_KINDS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    # The SDK ignores a zero retry-after (falling back to ~0.5 s+ backoff) but honours
    # retry-after-ms first, so 1 ms keeps retried 429s from stalling tests.
    extra = [("retry-after", "0"), ("retry-after-ms", "1")] if status == 429 else []
    return _json_response(
        status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, extra
    )


def _message_text(message: Any) -> str:
    """Return the text of a chat message whose content is a string or a list of parts."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _prompt_tokens(messages: list[Any]) -> int:
    """Count whitespace-separated words over all message contents."""
    return sum(len(_message_text(m).split()) for m in messages)


def _request_overrides(messages: list[Any]) -> dict[str, Any]:
    """Extract [[fake:{json}]] overrides from the last user message."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            match = _OVERRIDE_RE.search(_message_text(message))
            if not match:
                return {}
            try:
                return _validate_fields(json.loads(match.group(1)))
            except json.JSONDecodeError as exc:
                raise BadRequest(f"bad [[fake:...]] override: {exc}") from exc
    return {}


@dataclass
class _Request:
    """One parsed HTTP request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """Read a chunked-transfer request body."""
    parts = []
    while True:
        size = int((await reader.readuntil(_CRLF)).split(b";")[0].strip(), 16)
        if size == 0:
            # Skip trailers up to the blank line.
            while (await reader.readuntil(_CRLF)) != _CRLF:
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """Read one HTTP request, or return None on a clean end of connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(int(headers.get("content-length") or 0))
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
    return _Request(method.upper(), target.split("?", 1)[0], headers, body, keep_alive)


class _Drop(Exception):
    """Raised to close the connection abruptly."""


class FakeLLM:
    """An in-process fake OpenAI-compatible server on a real TCP socket."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, behavior: Behavior | None = None) -> None:
        self.host = host
        self.port = port
        self.behavior: Behavior = behavior or Behavior()
        self._initial_behavior = dataclasses.replace(self.behavior)
        self.requests: list[dict[str, Any]] = []
        self.stats: dict[str, int] = {}
        self._reset_stats()
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._released = 0
        self._moved = asyncio.Event()

    @property
    def url(self) -> str:
        """Return the base URL to give an OpenAI client."""
        return f"http://{self.host}:{self.port}/v1"

    def configure(self, **fields: Any) -> None:
        """Merge fields into the default behaviour."""
        self.behavior = self.behavior.merged(fields)

    def reset(self) -> None:
        """Restore the initial behaviour, forget recorded requests and zero the counters."""
        self.behavior = dataclasses.replace(self._initial_behavior)
        self.requests.clear()
        self._reset_stats()
        self._released = 0

    def release(self) -> None:
        """Let a stream waiting at one of its `pauses` go on to the next (from any thread)."""

        def bump() -> None:
            self._released += 1
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()

        if self._loop is not None:
            self._loop.call_soon_threadsafe(bump)
        else:
            bump()

    def parts(self, request: int = -1, message: int = -1) -> list[dict[str, Any]]:
        """The content parts of a recorded request's message (the last user message of the last, by default).

        A message whose content is a string is one text part.
        """
        content = self.requests[request]["messages"][message]["content"]
        return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)

    def _reset_stats(self) -> None:
        """Zero the counters except open connections."""
        open_now = self.stats.get("open_connections", 0)
        responding = self.stats.get("responding", 0)
        self.stats.update(
            requests=0,
            http_requests=0,
            streams_started=0,
            streams_completed=0,
            open_connections=open_now,
            responding=responding,
        )

    async def start(self) -> None:
        """Start listening; self.port holds the real port when this returns."""
        # A big backlog lets benchmarks open 1000+ connections at once.
        self._server = await asyncio.start_server(self._on_connection, self.host, self.port, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is None:
            return
        self._server.close()
        for task, writer in list(self._connections.items()):
            writer.transport.abort()
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    def start_in_thread(self) -> FakeLLM:
        """Run the server on its own event loop in a daemon thread; return once listening."""
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self.start())
            except BaseException as exc:  # handed to the caller's thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-llm", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._loop.close()
            raise failure[0]
        return self

    def stop_thread(self) -> None:
        """Stop a server started with start_in_thread and join its thread."""
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = None

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one keep-alive connection until it ends."""
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        self.stats["open_connections"] += 1
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, _Drop):
            pass
        except ValueError:
            writer.write(_error_response(400, "malformed HTTP request"))
        finally:
            self.stats["open_connections"] -= 1
            self._connections.pop(task, None)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read and answer requests one after another."""
        while (request := await _read_request(reader)) is not None:
            self.stats["http_requests"] += 1
            await self._dispatch(request, reader, writer)
            await writer.drain()
            if not request.keep_alive:
                return

    async def _dispatch(
        self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Route one request to its handler."""
        route = (req.method, req.path)
        if route == ("POST", "/v1/chat/completions"):
            self.stats["responding"] += 1
            try:
                await self._chat(req, reader, writer)
            finally:
                self.stats["responding"] -= 1
            return
        try:
            writer.write(self._control(req))
        except BadRequest as exc:
            writer.write(_error_response(400, str(exc)))

    def _control(self, req: _Request) -> bytes:
        """Answer the models endpoint, the /_fake control endpoints and unknown routes."""
        route = (req.method, req.path)
        if route == ("GET", "/v1/models"):
            behavior = self.behavior
            if (
                behavior.require_key is not None
                and req.headers.get("authorization") != f"Bearer {behavior.require_key}"
            ):
                return _error_response(401, "Incorrect API key provided.")
            if behavior.models_status != 200:
                return _error_response(
                    behavior.models_status, f"fake error with status {behavior.models_status}"
                )
            names = behavior.models or [behavior.model]
            models = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in names]
            return _json_response(200, {"object": "list", "data": models})
        if route == ("GET", "/_fake/behavior"):
            return _json_response(200, self.behavior.to_json())
        if route == ("POST", "/_fake/behavior"):
            self.behavior = self.behavior.merged(_parse_json(req.body))
            return _json_response(200, self.behavior.to_json())
        if route == ("POST", "/_fake/reset"):
            self.reset()
            return _json_response(200, self.behavior.to_json())
        if route == ("GET", "/_fake/requests"):
            return _json_response(200, self.requests)
        if route == ("GET", "/_fake/stats"):
            return _json_response(200, self.stats)
        known = {
            "/v1/models",
            "/v1/chat/completions",
            "/_fake/behavior",
            "/_fake/reset",
            "/_fake/requests",
            "/_fake/stats",
        }
        if req.path in known:
            return _error_response(405, f"method {req.method} not allowed on {req.path}")
        return _error_response(404, f"unknown path {req.path}")

    def _record(self, body: dict[str, Any]) -> None:
        """Remember a chat request body, keeping only the newest ones."""
        self.stats["requests"] += 1
        self.requests.append(body)
        if len(self.requests) > MAX_RECORDED_REQUESTS:
            del self.requests[: len(self.requests) - MAX_RECORDED_REQUESTS]

    async def _chat(self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer a chat completion request according to the effective behaviour."""
        try:
            body = _parse_json(req.body)
            if not isinstance(body, dict):
                raise BadRequest("request body must be a JSON object")
            self._record(body)
            messages = body.get("messages") if isinstance(body.get("messages"), list) else []
            behavior = self.behavior.merged(_request_overrides(messages))
            if behavior.answer_by_model and body.get("model") in behavior.answer_by_model:
                behavior = dataclasses.replace(behavior, answer=behavior.answer_by_model[body["model"]])
        except BadRequest as exc:
            writer.write(_error_response(400, str(exc)))
            return
        if (
            behavior.require_key is not None
            and req.headers.get("authorization") != f"Bearer {behavior.require_key}"
        ):
            writer.write(_error_response(401, "Incorrect API key provided."))
            return
        if behavior.status != 200:
            writer.write(_error_response(behavior.status, f"fake error with status {behavior.status}"))
            return
        if behavior.hang:
            await _wait_for_disconnect(reader)
            raise _Drop
        reply = _Reply(behavior, body, _prompt_tokens(messages))
        if body.get("stream"):
            await self._stream(reply, writer)
        else:
            await reply.sleep_total()
            if behavior.drop_after is not None:
                raise _Drop
            writer.write(_json_response(200, reply.completion()))

    async def _stream(self, reply: _Reply, writer: asyncio.StreamWriter) -> None:
        """Send the reply as SSE, one write per token."""
        self.stats["streams_started"] += 1
        headers = [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
            ("transfer-encoding", "chunked"),
        ]
        writer.write(_head(200, headers) + reply.role_chunk())
        await writer.drain()
        if reply.calls:
            writer.write(reply.tool_call_chunks() + reply.ending(0))
            await writer.drain()
            self.stats["streams_completed"] += 1
            return
        await self._send_tokens(reply, writer)

    async def _send_tokens(self, reply: _Reply, writer: asyncio.StreamWriter) -> None:
        """Send content chunks on schedule, one write each, then end the stream."""
        behavior, transport = reply.behavior, writer.transport
        prefix, tokens, frame_tail = reply.token_prefix, reply.tokens, reply.token_suffix + _CRLF
        framing = len(prefix) + len(reply.token_suffix)
        stops = {
            n
            for n in (behavior.drop_after, behavior.error_event_after, behavior.malformed_after)
            if n is not None
        }
        loop = asyncio.get_running_loop()
        pauses = sorted(behavior.pauses or ())
        # Absolute deadlines keep a loaded server from stretching streams beyond n * delay.
        due = loop.time() + behavior.first_token_delay
        sent = 0
        for token in tokens:
            if sent in stops:
                break
            if sent in pauses:
                while self._released <= pauses.index(sent):
                    await self._moved.wait()
                due = loop.time()
            due += behavior.delay
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            if transport.is_closing():
                raise ConnectionResetError("client went away")
            transport.write(b"%x\r\n%b%b%b" % (framing + len(token), prefix, token, frame_tail))
            sent += 1
            if transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
                await writer.drain()
        await self._finish_stream(reply, writer, sent)

    async def _finish_stream(self, reply: _Reply, writer: asyncio.StreamWriter, sent: int) -> None:
        """Apply the interruption due after sent tokens, else end the stream normally."""
        behavior = reply.behavior
        if behavior.drop_after == sent:
            raise _Drop
        if behavior.error_event_after == sent:
            writer.write(reply.error_event() + reply.done())
        else:
            malformed = _frame(b"data: {not json\n\n") if behavior.malformed_after == sent else b""
            writer.write(malformed + reply.ending(sent))
        await writer.drain()
        self.stats["streams_completed"] += 1


class _Reply:
    """The pre-encoded pieces of one chat completion answer."""

    def __init__(self, behavior: Behavior, body: dict[str, Any], prompt_tokens: int) -> None:
        self.behavior = behavior
        self.body = body
        self.prompt_tokens = prompt_tokens
        self.model = body.get("model") if isinstance(body.get("model"), str) else behavior.model
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        tokens = _encoded_tokens(behavior.answer, behavior.tokens)
        limit = _max_tokens(body)
        self.finish_reason = "length" if limit is not None and limit < len(tokens) else "stop"
        self.tokens = tokens[:limit] if self.finish_reason == "length" else tokens
        self.calls = [
            {"id": f"call_{uuid.uuid4().hex[:24]}", "name": call["name"], "arguments": call["arguments"]}
            for call in behavior.tool_calls or ()
        ]
        if self.calls:
            self.finish_reason, self.tokens = "tool_calls", ()
        head = {k: v for k, v in self._envelope().items() if k != "choices"}
        self.token_prefix = b"data: " + _dumps(head)[:-1] + b',"choices":[{"index":0,"delta":{"content":'
        self.token_suffix = b'},"logprobs":null,"finish_reason":null}]}\n\n'

    def _envelope(self) -> dict[str, Any]:
        """Return the fields shared by every chunk (ending with an empty choices list)."""
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None) -> bytes:
        """Encode one framed chunk event with a single choice."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return _sse({**self._envelope(), "choices": [choice]})

    def role_chunk(self) -> bytes:
        """Encode the opening chunk that carries the assistant role."""
        return self._chunk({"role": "assistant", "content": ""}, None)

    def tool_call_chunks(self) -> bytes:
        """Encode each tool call as OpenAI streams it: its id and name, then its arguments in two pieces."""
        parts = []
        for index, call in enumerate(self.calls):
            opening = {"name": call["name"], "arguments": ""}
            parts.append(
                self._chunk(
                    {
                        "tool_calls": [
                            {"index": index, "id": call["id"], "type": "function", "function": opening}
                        ]
                    },
                    None,
                )
            )
            half = len(call["arguments"]) // 2
            for piece in (call["arguments"][:half], call["arguments"][half:]):
                parts.append(
                    self._chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, None)
                )
        return b"".join(parts)

    def usage(self, completion_tokens: int) -> dict[str, int]:
        """Return the usage block for the given number of sent tokens."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": self.prompt_tokens + completion_tokens,
        }

    def ending(self, sent: int) -> bytes:
        """Encode the finish chunk, the optional usage chunk, [DONE] and the last HTTP chunk."""
        parts = [self._chunk({}, self.finish_reason if sent == len(self.tokens) else "stop")]
        options = self.body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            parts.append(_sse({**self._envelope(), "usage": self.usage(sent or self.call_tokens())}))
        parts.append(self.done())
        return b"".join(parts)

    def error_event(self) -> bytes:
        """Encode a mid-stream error event."""
        return _sse({"error": {"message": "fake mid-stream error", "type": "server_error"}})

    def done(self) -> bytes:
        """Encode the [DONE] event and the terminating zero-length chunk."""
        return _frame(b"data: [DONE]\n\n") + _LAST_CHUNK

    def call_tokens(self) -> int:
        """The words the tool calls spend, counted as completion tokens."""
        return sum(len(call["arguments"].split()) + 1 for call in self.calls)

    def text(self) -> str:
        """Return the full answer text that the tokens spell."""
        return "".join(_tokens_for(self.behavior.answer, self.behavior.tokens)[: len(self.tokens)])

    async def sleep_total(self) -> None:
        """Wait as long as streaming the tokens would take."""
        wait = self.behavior.first_token_delay + self.behavior.delay * len(self.tokens)
        if wait > 0:
            await asyncio.sleep(wait)

    def completion(self) -> dict[str, Any]:
        """Return the non-streaming chat.completion object."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text(), "refusal": None}
        if self.calls:
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in self.calls
            ]
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish_reason}
            ],
            "usage": self.usage(len(self.tokens) or self.call_tokens()),
        }


def _max_tokens(body: dict[str, Any]) -> int | None:
    """Return the requested token limit, if any."""
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _parse_json(raw: bytes) -> Any:
    """Decode a JSON request body, mapping failures to BadRequest."""
    try:
        return json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"invalid JSON body: {exc}") from exc


async def _wait_for_disconnect(reader: asyncio.StreamReader) -> None:
    """Wait until the peer closes the connection, discarding anything it sends."""
    while await reader.read(65536):
        pass


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_llm", description="Fake OpenAI-compatible server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8901)
    parser.add_argument("--tokens", type=int, default=None, help="generate N tokens instead of the answer")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each token")
    parser.add_argument(
        "--first-token-delay", type=float, default=0.0, help="extra seconds before the first token"
    )
    parser.add_argument("--answer", default=None, help="answer text")
    parser.add_argument("--model", default=None, help="model name")
    parser.add_argument("--uvloop", action="store_true", help="use uvloop if installed")
    return parser.parse_args(argv)


async def _serve_forever(args: argparse.Namespace) -> None:
    """Run the server until SIGTERM or SIGINT."""
    behavior = Behavior(tokens=args.tokens, delay=args.delay, first_token_delay=args.first_token_delay)
    if args.answer is not None:
        behavior.answer = args.answer
    if args.model is not None:
        behavior.model = args.model
    fake = FakeLLM(args.host, args.port, behavior)
    await fake.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"fake model listening on {fake.url}", flush=True)
    await stop.wait()
    await fake.stop()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = _parse_args(argv)
    if args.uvloop:
        try:
            import uvloop
        except ImportError:
            print("uvloop not installed; using asyncio", file=sys.stderr, flush=True)
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(_serve_forever(args))
            return 0
    asyncio.run(_serve_forever(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
