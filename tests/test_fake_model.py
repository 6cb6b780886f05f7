"""Tests for the fake OpenAI-compatible server, driven through the real openai client."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
import pytest_asyncio

from tests.fake_llm import Behavior, FakeLLM

pytestmark = pytest.mark.asyncio

ANSWER = "The quick brown fox jumps over the lazy dog."


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeLLM]:
    """Start a fake server for one test."""
    server = FakeLLM(behavior=Behavior(answer=ANSWER))
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def client(fake: FakeLLM) -> AsyncIterator[openai.AsyncOpenAI]:
    """Return a real OpenAI client pointed at the fake server."""
    async with openai.AsyncOpenAI(base_url=fake.url, api_key="test", max_retries=0) as c:
        yield c


def user(text: str) -> list[dict[str, str]]:
    """Build a one-message conversation."""
    return [{"role": "user", "content": text}]


async def stream_text(client: openai.AsyncOpenAI, text: str = "hi", **kwargs: Any) -> list[str]:
    """Stream a completion and return its content pieces."""
    stream = await client.chat.completions.create(
        model="fake-model", messages=user(text), stream=True, **kwargs
    )
    pieces = []
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
    return pieces


async def collect_until_error(
    client: openai.AsyncOpenAI, **kwargs: Any
) -> tuple[list[str], BaseException | None]:
    """Stream a completion, returning the pieces received and the exception that ended it."""
    pieces: list[str] = []
    try:
        stream = await client.chat.completions.create(
            model="fake-model", messages=user("hi"), stream=True, **kwargs
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    except Exception as exc:
        return pieces, exc
    return pieces, None


def http(fake: FakeLLM, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Make a plain HTTP request with urllib and return status and decoded JSON."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{fake.port}{path}", data=data, method=method)
    req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_stream_arrives_in_chunks_and_joins(client: openai.AsyncOpenAI) -> None:
    pieces = await stream_text(client)
    assert len(pieces) == len(ANSWER.split())
    assert "".join(pieces) == ANSWER


async def test_stream_chunk_sequence_and_usage(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="fake-model",
        messages=[{"role": "system", "content": "be brief"}, *user("one two three")],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (5, 9, 14)
    assert all(c.object == "chat.completion.chunk" for c in chunks)


async def test_stream_without_usage_has_no_usage_chunk(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(model="fake-model", messages=user("hi"), stream=True)
    chunks = [chunk async for chunk in stream]
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_tokens_count_overrides_answer(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(tokens=5)
    pieces = await stream_text(client)
    assert pieces == ["w0 ", "w1 ", "w2 ", "w3 ", "w4 "]


async def test_non_stream(client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(model="fake-model", messages=user("a b c"))
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content == ANSWER
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (3, 9, 12)


async def test_models(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(model="other-model")
    models = [m.id async for m in client.models.list()]
    assert models == ["other-model"]


async def test_status_500(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(status=500)
    with pytest.raises(openai.InternalServerError) as info:
        await stream_text(client)
    assert info.value.status_code == 500


async def test_status_429_with_retry_after(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(status=429)
    with pytest.raises(openai.RateLimitError) as info:
        await client.chat.completions.create(model="fake-model", messages=user("hi"))
    assert info.value.response.headers["retry-after"] == "0"
    assert info.value.code == "rate_limit_exceeded"


async def test_429_retries_are_told_to_wait_nothing(fake: FakeLLM) -> None:
    fake.configure(status=429)
    async with openai.AsyncOpenAI(base_url=fake.url, api_key="test", max_retries=2) as retrying:
        with pytest.raises(openai.RateLimitError) as info:
            await retrying.chat.completions.create(model="fake-model", messages=user("hi"))
    assert info.value.response.headers["retry-after"] == "0"
    assert len(fake.requests) == 3


async def test_require_key(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(require_key="secret")
    with pytest.raises(openai.AuthenticationError):
        await stream_text(client)
    async with openai.AsyncOpenAI(base_url=fake.url, api_key="secret", max_retries=0) as good:
        assert "".join(await stream_text(good)) == ANSWER


async def test_drop_after(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(drop_after=3)
    pieces, error = await collect_until_error(client)
    assert isinstance(error, Exception)
    assert pieces == ["The ", "quick ", "brown "]


async def test_hang_times_out(fake: FakeLLM) -> None:
    fake.configure(hang=True)
    async with openai.AsyncOpenAI(base_url=fake.url, api_key="test", max_retries=0, timeout=0.5) as impatient:
        with pytest.raises(openai.APITimeoutError):
            await stream_text(impatient)


async def test_malformed_chunk_raises(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(malformed_after=2)
    pieces, error = await collect_until_error(client)
    assert isinstance(error, ValueError)
    assert "".join(pieces) == "The quick "


async def test_error_event_raises(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(error_event_after=4)
    pieces, error = await collect_until_error(client)
    assert isinstance(error, openai.APIError)
    assert "fake mid-stream error" in str(error)
    assert len(pieces) == 4


async def test_per_request_override(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        await stream_text(client, 'please fail [[fake:{"status": 500}]]')
    assert await stream_text(client, 'short [[fake:{"tokens": 2}]]') == ["w0 ", "w1 "]
    # Overrides apply to that request only.
    assert "".join(await stream_text(client)) == ANSWER
    assert fake.behavior.status == 200


async def test_bad_override_is_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        await stream_text(client, '[[fake:{"nope": 1}]]')


async def test_delay_slows_stream(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(tokens=5, delay=0.05, first_token_delay=0.1)
    start = time.monotonic()
    pieces = await stream_text(client)
    assert len(pieces) == 5
    assert time.monotonic() - start >= 0.1 + 5 * 0.05 * 0.9


async def test_requests_recorded(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    await stream_text(client, "first")
    await client.chat.completions.create(model="fake-model", messages=user("second"), temperature=0.5)
    assert [r["messages"][-1]["content"] for r in fake.requests] == ["first", "second"]
    assert fake.requests[0]["stream"] is True
    assert fake.requests[1]["temperature"] == 0.5


async def test_control_endpoints_over_http(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    status, behavior = await asyncio.to_thread(http, fake, "GET", "/_fake/behavior")
    assert status == 200 and behavior["answer"] == ANSWER
    status, behavior = await asyncio.to_thread(http, fake, "POST", "/_fake/behavior", {"tokens": 3})
    assert status == 200 and behavior["tokens"] == 3 and behavior["answer"] == ANSWER
    assert await stream_text(client, "x y") == ["w0 ", "w1 ", "w2 "]

    status, recorded = await asyncio.to_thread(http, fake, "GET", "/_fake/requests")
    assert status == 200 and recorded[-1]["messages"] == user("x y")
    status, stats = await asyncio.to_thread(http, fake, "GET", "/_fake/stats")
    assert stats["requests"] == 1 and stats["streams_started"] == 1 and stats["streams_completed"] == 1
    assert stats["open_connections"] >= 1

    status, error = await asyncio.to_thread(http, fake, "POST", "/_fake/behavior", {"bogus": 1})
    assert status == 400 and "bogus" in error["error"]["message"]
    status, _ = await asyncio.to_thread(http, fake, "POST", "/_fake/reset", {})
    assert status == 200
    assert fake.behavior.tokens is None and fake.requests == []
    status, recorded = await asyncio.to_thread(http, fake, "GET", "/_fake/requests")
    assert recorded == []


async def test_unknown_path_is_404(fake: FakeLLM) -> None:
    status, error = await asyncio.to_thread(http, fake, "GET", "/v1/nothing")
    assert status == 404
    assert set(error["error"]) >= {"message", "type", "code"}


async def test_stream_headers_and_wire_format(fake: FakeLLM) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", fake.port)
    body = json.dumps({"model": "m", "messages": user("hi"), "stream": True}).encode()
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
    )
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    lowered = head.lower()
    assert lowered.startswith(b"http/1.1 200")
    assert b"content-type: text/event-stream" in lowered and b"transfer-encoding: chunked" in lowered
    assert rest.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")


async def test_keep_alive_reuses_connection(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    for _ in range(5):
        await stream_text(client)
    assert fake.stats["open_connections"] == 1


async def test_start_in_thread() -> None:
    server = FakeLLM(behavior=Behavior(answer="threaded answer")).start_in_thread()
    try:
        async with openai.AsyncOpenAI(base_url=server.url, api_key="test", max_retries=0) as c:
            assert "".join(await stream_text(c)) == "threaded answer"
        server.configure(status=503)
        async with openai.AsyncOpenAI(base_url=server.url, api_key="test", max_retries=0) as c:
            with pytest.raises(openai.InternalServerError):
                await stream_text(c)
    finally:
        server.stop_thread()


async def test_stop_closes_open_streams(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(tokens=100, delay=0.05)
    task = asyncio.create_task(collect_until_error(client))
    while fake.stats["streams_started"] == 0:
        await asyncio.sleep(0.01)
    await asyncio.wait_for(fake.stop(), 2)
    pieces, error = await asyncio.wait_for(task, 2)
    assert isinstance(error, Exception) and len(pieces) < 100


async def test_many_concurrent_streams(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(tokens=20, delay=0.002)
    results = await asyncio.gather(*(stream_text(client) for _ in range(50)))
    assert all(len(r) == 20 for r in results)
    assert fake.stats["streams_completed"] == 50


WEATHER_CALL = {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "celsius"}'}


async def test_tool_calls_stream_as_deltas_the_client_joins(
    fake: FakeLLM, client: openai.AsyncOpenAI
) -> None:
    fake.configure(tool_calls=[WEATHER_CALL])
    stream = await client.chat.completions.create(model="fake-model", messages=user("weather?"), stream=True)
    calls: dict[int, dict[str, str]] = {}
    reasons = []
    async for chunk in stream:
        for choice in chunk.choices:
            assert not choice.delta.content
            for delta in choice.delta.tool_calls or ():
                call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                call["id"] += delta.id or ""
                call["name"] += delta.function.name or ""
                call["arguments"] += delta.function.arguments or ""
            reasons.append(choice.finish_reason)
    assert reasons[-1] == "tool_calls"
    assert calls[0]["id"].startswith("call_") and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris", "unit": "celsius"}


async def test_tool_calls_without_streaming(fake: FakeLLM, client: openai.AsyncOpenAI) -> None:
    fake.configure(tool_calls=[WEATHER_CALL, {"name": "get_time", "arguments": "{}"}])
    reply = await client.chat.completions.create(model="fake-model", messages=user("weather?"))
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert [call.function.name for call in choice.message.tool_calls] == ["get_weather", "get_time"]
    assert choice.message.tool_calls[0].function.arguments == WEATHER_CALL["arguments"]
