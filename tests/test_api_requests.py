"""Bad requests to the API get a clear 4xx and store nothing; a caller who leaves stops the answer."""

from __future__ import annotations

import asyncio
import json

import httpx2
import openai
import pytest

from tests.api_server import Served
from tests.fake_llm import FakeLLM

USER = {"role": "user", "content": "Hello?"}


async def count(served: Served) -> tuple[int, int]:
    exchanges = await served.db.fetch_one("SELECT COUNT(*) AS n FROM exchanges")
    chats = await served.db.fetch_one("SELECT COUNT(*) AS n FROM conversations")
    return int(exchanges["n"]), int(chats["n"])


async def post(served: Served, key: str, body: bytes | dict) -> httpx2.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with httpx2.AsyncClient(timeout=30) as http:
        return await http.post(
            f"{served.api}/chat/completions",
            content=content,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )


def error_of(response: httpx2.Response) -> dict:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body["error"]) == {"message", "type", "code", "param"}
    return body["error"]


@pytest.mark.settings(max_body_bytes=4 * 1024 * 1024)
async def test_each_bad_request_gets_a_clear_400_naming_its_field_and_stores_nothing(served: Served, model):
    key = await served.key()
    cases = [
        (b"{not json", None, "not a JSON object"),
        (b"[1, 2]", None, "not a JSON object"),
        ({"messages": [USER]}, "model", "`model` is missing"),
        ({"model": "fake-model", "messages": []}, "messages", "at least one message"),
        ({"model": "fake-model", "messages": [USER] * 10_000}, "messages", "10,000 messages; at most 2,048"),
        (
            {"model": "fake-model", "messages": [{"role": "wizard", "content": "hi"}]},
            "messages[0].role",
            "one of",
        ),
        (
            {"model": "fake-model", "messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
            "text",
        ),
        (
            {"model": "fake-model", "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            "messages[0].content[0]",
            "type “input_audio”, which is not accepted",
        ),
        (
            {
                "model": "fake-model",
                "messages": [
                    USER,
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
                    },
                ],
            },
            "messages[1].content[0]",
            "Images are not accepted here yet",
        ),
        (
            {"model": "fake-model", "messages": [{"role": "tool", "content": "42"}]},
            "messages[0].tool_call_id",
            "",
        ),
        ({"model": "fake-model", "messages": [USER], "n": 5}, "n", "must be 1"),
        ({"model": "fake-model", "messages": [USER], "temperature": 7}, "temperature", "from 0 to 2"),
        ({"model": "fake-model", "messages": [USER], "max_tokens": 0}, "max_tokens", "at least 1"),
        ({"model": "fake-model", "messages": [USER], "stop": ["a", "b", "c", "d", "e"]}, "stop", "up to 4"),
        ({"model": "fake-model", "messages": [USER], "stream": "yes"}, "stream", "true or false"),
        ({"model": "fake-model", "messages": [USER], "tools": "get_weather"}, "tools", "list of objects"),
    ]
    for body, param, words in cases:
        response = await post(served, key, body)
        assert response.status_code == 400, (param, response.text)
        error = error_of(response)
        assert (error["param"], error["type"]) == (param, "invalid_request_error")
        assert words in error["message"], (words, error["message"])
    assert await count(served) == (0, 0) and model.requests == []


async def test_a_body_over_the_limit_gets_413_and_stores_nothing(served: Served, model):
    async with served.client(await served.key()) as client:
        with pytest.raises(openai.APIStatusError) as refused:
            await client.chat.completions.create(
                model="fake-model", messages=[{"role": "user", "content": "x" * 200_000}]
            )
    assert refused.value.status_code == 413 and refused.value.code == "request_too_large"
    assert "nothing was stored" in refused.value.message
    assert await count(served) == (0, 0) and model.requests == []


async def test_a_caller_who_leaves_mid_stream_leaves_the_answer_stopped_with_its_text(
    served: Served, model: FakeLLM
):
    model.configure(tokens=400, delay=0.02)
    key = await served.key()
    got = ""
    body = {"model": "fake-model", "messages": [USER], "stream": True}
    async with httpx2.AsyncClient(timeout=30) as http:
        async with http.stream(
            "POST", f"{served.api}/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data: {"):
                    got += json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                if got.count("w") >= 5:
                    break
    for _ in range(400):
        row = await served.db.fetch_one("SELECT status, answer FROM exchanges")
        if row["status"] == "stopped":
            break
        await asyncio.sleep(0.05)
    assert row["status"] == "stopped"
    assert row["answer"].startswith(got) and 0 < len(row["answer"]) < len("w0 ") * 400
    # The model's request was cancelled: it never finished sending its 400 tokens.
    for _ in range(200):
        if model.stats["responding"] == 0:
            break
        await asyncio.sleep(0.05)
    assert model.stats["responding"] == 0 and model.stats["streams_completed"] == 0


async def test_a_model_failing_before_any_text_is_a_502_and_a_silent_one_a_504(
    served: Served, model: FakeLLM
):
    key = await served.key()
    async with served.client(key) as client:
        model.configure(status=500)
        for stream in (False, True):
            with pytest.raises(openai.InternalServerError) as failed:
                await client.chat.completions.create(model="fake-model", messages=[USER], stream=stream)
            assert failed.value.status_code == 502 and "The model server failed (500)" in failed.value.message
        model.configure(status=200, hang=True)
        with pytest.raises(openai.APIStatusError) as silent:
            await client.chat.completions.create(model="fake-model", messages=[USER])
        assert silent.value.status_code == 504 and silent.value.code == "timeout"
    statuses = await served.db.fetch_all("SELECT status, key_name FROM exchanges ORDER BY id")
    assert [row["status"] for row in statuses] == ["error", "error", "error"]


async def test_a_model_failing_mid_stream_ends_the_stream_with_an_error_event(served: Served, model: FakeLLM):
    model.configure(tokens=20, error_event_after=5)
    async with served.client(await served.key()) as client:
        stream = await client.chat.completions.create(model="fake-model", messages=[USER], stream=True)
        got = []
        with pytest.raises(openai.APIError, match="fake mid-stream error"):
            async for chunk in stream:
                got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "w0 w1 w2 w3 w4 "
    row = await served.db.fetch_one("SELECT status, answer FROM exchanges")
    assert (row["status"], row["answer"]) == ("error", "w0 w1 w2 w3 w4 ")
