"""OpenAI's wire format: a chat completion request read and checked, its reply and stream chunks written.

Requests are checked whole before anything is stored. Each message goes to the model as
the client sent it; fields the app does not know are ignored, as OpenAI ignores them.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from .. import messages
from ..answers.calls import Call
from ..config import Config
from ..model import Usage
from ..model.catalog import Choice, Permitted
from .errors import ApiError

MAX_MESSAGES = 2048
MAX_STOPS = 4
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
INSTRUCTING = frozenset({"system", "developer"})
TEXT_PARTS = frozenset({"text", "refusal"})
# Images wait for files the app keeps; until then they are refused by name, not as unknown.
LATER_PARTS = frozenset({"image_url"})
# Fields passed on to the model as they come (it checks them); what else a request holds is ignored.
PASSED_ON = (
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "response_format",
    "logit_bias",
)
DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Asked:
    """A chat completion request, read and checked."""

    model: str
    messages: list[dict[str, Any]]
    options: dict[str, Any]
    temperature: float | None
    stream: bool
    include_usage: bool

    def call(self, choice: Choice) -> Call:
        """The call to store and answer, with the model the request names."""
        last = next((m for m in reversed(self.messages) if m["role"] == "user"), self.messages[-1])
        instructions = "\n\n".join(
            text_of(m.get("content")) for m in self.messages if m["role"] in INSTRUCTING
        )
        request: dict[str, Any] = {"model": self.model, "messages": self.messages, "stream": self.stream}
        if self.temperature is not None:
            request["temperature"] = self.temperature
        return Call(
            choice=choice,
            messages=self.messages,
            options=self.options,
            temperature=self.temperature,
            question=text_of(last.get("content")),
            instructions=instructions or None,
            request=request | {key: value for key, value in self.options.items() if value is not None},
        )


def read(body: bytes | str, config: Config) -> Asked:
    """Read a chat completion request's body; ApiError (400) naming the first field that cannot be used."""
    try:
        asked = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, messages.API_NOT_JSON) from None
    if not isinstance(asked, dict):
        raise ApiError(400, messages.API_NOT_JSON)
    model = asked.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, messages.API_NO_MODEL, param="model")
    if asked.get("n") not in (None, 1):
        raise ApiError(400, messages.API_ONE_ANSWER, param="n")
    options: dict[str, Any] = {name: asked[name] for name in PASSED_ON if asked.get(name) is not None}
    if "tools" in options and not _all(options["tools"], dict):
        raise ApiError(400, messages.api_bad_field("tools", "must be a list of objects"), param="tools")
    options |= _stop(asked.get("stop")) | _max_tokens(asked, config.max_tokens)
    stream = _flag(asked, "stream")
    stream_options = asked.get("stream_options")
    if stream_options is not None and not isinstance(stream_options, dict):
        raise ApiError(
            400, messages.api_bad_field("stream_options", "must be an object"), param="stream_options"
        )
    include_usage = bool(stream_options and stream_options.get("include_usage") is True)
    return Asked(
        model=model,
        messages=_messages(asked.get("messages")),
        options=options,
        temperature=_temperature(asked.get("temperature"), config),
        stream=stream,
        include_usage=include_usage,
    )


def text_of(content: Any) -> str:
    """A message's text, whether its content is a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get(part.get("type"), "") for part in content if isinstance(part, dict))
    return ""


def _messages(found: Any) -> list[dict[str, Any]]:
    if not isinstance(found, list) or not found:
        raise ApiError(400, messages.API_NO_MESSAGES, param="messages")
    if len(found) > MAX_MESSAGES:
        raise ApiError(400, messages.api_too_many_messages(len(found), MAX_MESSAGES), param="messages")
    for index, message in enumerate(found):
        _check_message(f"messages[{index}]", message)
    return found


def _check_message(name: str, message: Any) -> None:
    if not isinstance(message, dict):
        raise ApiError(400, messages.api_bad_field(name, "must be an object"), param=name)
    if message.get("role") not in ROLES:
        must = "must be one of " + ", ".join(ROLES)
        raise ApiError(400, messages.api_bad_field(f"{name}.role", must), param=f"{name}.role")
    content = message.get("content")
    if isinstance(content, list):
        for number, part in enumerate(content):
            where = f"{name}.content[{number}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind in LATER_PARTS:
                raise ApiError(400, messages.API_IMAGES_LATER, param=where, code="unsupported_content")
            if kind not in TEXT_PARTS or not isinstance(part.get(kind), str):
                raise ApiError(400, messages.api_unknown_part(where, str(kind)), param=where)
    elif not isinstance(content, str) and not (content is None and message["role"] == "assistant"):
        must = "must be text or a list of text parts"
        raise ApiError(400, messages.api_bad_field(f"{name}.content", must), param=f"{name}.content")
    if message["role"] == "tool" and not isinstance(message.get("tool_call_id"), str):
        must = "must name the tool call this message answers"
        raise ApiError(
            400, messages.api_bad_field(f"{name}.tool_call_id", must), param=f"{name}.tool_call_id"
        )
    if message.get("tool_calls") is not None and not _all(message["tool_calls"], dict):
        must = "must be a list of objects"
        raise ApiError(400, messages.api_bad_field(f"{name}.tool_calls", must), param=f"{name}.tool_calls")


def _temperature(found: Any, config: Config) -> float | None:
    if found is None:
        return None
    low, high = config.temperature_min, config.temperature_max
    if not _number(found) or not low <= found <= high:
        must = f"must be a number from {low:g} to {high:g}"
        raise ApiError(400, messages.api_bad_field("temperature", must), param="temperature")
    return float(found)


def _max_tokens(asked: dict[str, Any], cap: int) -> dict[str, Any]:
    """The request's token limit, kept to MAX_TOKENS, under the name it came with."""
    for name in ("max_completion_tokens", "max_tokens"):
        found = asked.get(name)
        if found is None:
            continue
        if not isinstance(found, int) or isinstance(found, bool) or found < 1:
            raise ApiError(
                400, messages.api_bad_field(name, "must be a whole number, at least 1"), param=name
            )
        # None drops the other name from the model's request: a server may refuse both at once.
        other = "max_tokens" if name == "max_completion_tokens" else "max_completion_tokens"
        return {name: min(found, cap), other: None}
    return {}


def _stop(found: Any) -> dict[str, Any]:
    if found is None:
        return {}
    if isinstance(found, str) or (_all(found, str) and 0 < len(found) <= MAX_STOPS):
        return {"stop": found}
    must = f"must be text or a list of up to {MAX_STOPS} texts"
    raise ApiError(400, messages.api_bad_field("stop", must), param="stop")


def _flag(asked: dict[str, Any], name: str) -> bool:
    found = asked.get(name)
    if found is not None and not isinstance(found, bool):
        raise ApiError(400, messages.api_bad_field(name, "must be true or false"), param=name)
    return bool(found)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _all(found: Any, kind: type) -> bool:
    return isinstance(found, list) and all(isinstance(item, kind) for item in found)


def model_ids(choices: list[Choice]) -> list[tuple[str, Choice]]:
    """The name each model is listed and asked by: its own, or `model@server` when two servers offer it."""
    shared = {c.model for c in choices if sum(other.model == c.model for other in choices) > 1}
    return [(c.key if c.model in shared else c.model, c) for c in choices]


def chosen(choices: list[Choice], name: str, permitted: Permitted = None) -> Choice:
    """The model a request names (as listed, or as `model@server`); ApiError when it may not be used:
    403 when it is kept for groups the caller is not in, 404 when it is not offered here."""
    for listed, choice in model_ids([c for c in choices if permitted is None or permitted(c)]):
        if name in (listed, choice.key):
            return choice
    if any(name in (listed, choice.key) for listed, choice in model_ids(choices)):
        raise ApiError(403, messages.api_model_not_yours(name), code="model_not_permitted", param="model")
    raise ApiError(404, messages.api_unknown_model(name), code="model_not_found", param="model")


def models(choices: list[Choice]) -> dict[str, Any]:
    """The list of models, as GET /v1/models answers it."""
    data = [
        {"id": listed, "object": "model", "created": 0, "owned_by": choice.server}
        for listed, choice in model_ids(choices)
    ]
    return {"object": "list", "data": data}


def usage_of(usage: Usage) -> dict[str, int]:
    prompt, completion = usage.prompt_tokens or 0, usage.completion_tokens or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class Reply:
    """One completion on the wire: its id, when it was made, the model; its chunks or its whole body."""

    def __init__(self, model: str, include_usage: bool = False) -> None:
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage

    def _head(self, choices: list[dict[str, Any]], kind: str = "chat.completion.chunk") -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": choices,
        }

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        """One `chat.completion.chunk` event (with `usage: null` when usage comes last)."""
        body = self._head([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])
        if self.include_usage:
            body["usage"] = None
        return event(body)

    def usage_chunk(self, usage: Usage) -> bytes:
        """The last chunk `stream_options.include_usage` asks for: no choices, the tokens spent."""
        return event(self._head([]) | {"usage": usage_of(usage)})

    def tool_calls_chunk(self, calls: list[dict[str, Any]]) -> bytes:
        """Every tool call the model made, whole, as one chunk."""
        return self.chunk({"tool_calls": [{"index": index, **call} for index, call in enumerate(calls)]})

    def whole(self, text: str, usage: Usage, finish_reason: str) -> dict[str, Any]:
        """The `chat.completion` a request without streaming gets."""
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        if usage.tool_calls:
            message["tool_calls"] = usage.tool_calls
            message["content"] = text or None
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        return self._head([choice], "chat.completion") | {"usage": usage_of(usage)}


def event(body: dict[str, Any]) -> bytes:
    """One server-sent event carrying a JSON object, as OpenAI streams them."""
    return b"data: " + orjson.dumps(body) + b"\n\n"
