"""The OpenAI-compatible API through the real openai client: models, completions streamed and not, errors."""

from __future__ import annotations

import json

import openai
import pytest

from app.config import Rate
from tests.api_server import Served
from tests.fake_llm import FakeLLM

USER = [{"role": "user", "content": "What is the capital of France?"}]


async def stored(served: Served) -> list[dict]:
    return await served.db.fetch_all(
        "SELECT e.*, c.api AS in_api_chat, c.title FROM exchanges e"
        " JOIN conversations c ON c.id = e.conversation_id ORDER BY e.id"
    )


@pytest.mark.settings(
    llm_models=("fake-model", "other-model", "secret-model"), llm_hidden_models=("secret-model",)
)
async def test_models_lists_the_models_a_person_may_use(served: Served):
    async with served.client(await served.key()) as client:
        listed = await client.models.list()
    assert [model.id for model in listed.data] == ["fake-model", "other-model"]
    assert all(model.object == "model" for model in listed.data)


async def test_a_completion_without_streaming_is_answered_and_stored_as_an_exchange(
    served: Served, model: FakeLLM
):
    model.configure(answer="Paris is the capital of France.")
    async with served.client(await served.key(label="notebook")) as client:
        reply = await client.chat.completions.create(
            model="fake-model",
            messages=[{"role": "system", "content": "Answer in one sentence."}, *USER],
            temperature=0.3,
            max_tokens=50,
            stop=["\n\n"],
            metadata={"unknown": "fields are ignored"},
        )
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
    assert reply.choices[0].message.content == "Paris is the capital of France."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == 6 and reply.usage.total_tokens == reply.usage.prompt_tokens + 6
    sent = model.requests[-1]
    assert sent["messages"] == [{"role": "system", "content": "Answer in one sentence."}, *USER]
    assert (sent["temperature"], sent["max_tokens"], sent["stop"]) == (0.3, 50, ["\n\n"])
    assert "metadata" not in sent
    [row] = await stored(served)
    assert (row["question"], row["answer"], row["status"]) == (
        USER[0]["content"],
        reply.choices[0].message.content,
        "done",
    )
    assert (row["key_name"], row["model"], row["in_api_chat"]) == ("notebook", "fake-model", 1)
    assert row["instructions"] == "Answer in one sentence." and row["temperature"] == 0.3
    assert row["completion_tokens"] == 6 and row["latency_ms"] is not None
    assert json.loads(row["api_request"])["messages"] == sent["messages"]


async def test_a_streamed_completion_arrives_in_chunks_and_ends_with_usage(served: Served, model: FakeLLM):
    model.configure(answer="one two three four five six seven eight", delay=0.01)
    async with served.client(await served.key()) as client:
        stream = await client.chat.completions.create(
            model="fake-model", messages=USER, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "one two three four five six seven eight"
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 8
    assert all(chunk.usage is None for chunk in chunks[:-1])
    [row] = await stored(served)
    assert (row["answer"], row["status"], row["completion_tokens"]) == (text, "done", 8)


async def test_a_streamed_completion_without_include_usage_sends_no_usage(served: Served):
    async with served.client(await served.key()) as client:
        stream = await client.chat.completions.create(model="fake-model", messages=USER, stream=True)
        chunks = [chunk async for chunk in stream]
    assert all(chunk.choices for chunk in chunks) and all(chunk.usage is None for chunk in chunks)


async def test_the_client_raises_its_own_exceptions_for_401_404_and_n_over_1(served: Served, model: FakeLLM):
    async with served.client("ga-not-a-key-anyone-made") as client:
        with pytest.raises(openai.AuthenticationError) as refused:
            await client.models.list()
    assert refused.value.status_code == 401 and refused.value.code == "invalid_api_key"
    async with served.client(await served.key()) as client:
        with pytest.raises(openai.NotFoundError) as missing:
            await client.chat.completions.create(model="no-such-model", messages=USER)
        assert missing.value.code == "model_not_found" and missing.value.param == "model"
        with pytest.raises(openai.BadRequestError) as many:
            await client.chat.completions.create(model="fake-model", messages=USER, n=5)
        assert many.value.param == "n"
    assert await stored(served) == [] and model.requests == []


@pytest.mark.settings(api_key_rate=Rate(2, 3600))
async def test_a_key_over_its_rate_gets_429_with_retry_after(served: Served):
    async with served.client(await served.key()) as client:
        for _ in range(2):
            await client.chat.completions.create(model="fake-model", messages=USER)
        with pytest.raises(openai.RateLimitError) as refused:
            await client.chat.completions.create(model="fake-model", messages=USER)
    assert int(refused.value.response.headers["Retry-After"]) > 0
    assert refused.value.body["type"] == "rate_limit_error"
    # Another key of another person has its own count.
    async with served.client(await served.key("bob")) as client:
        await client.chat.completions.create(model="fake-model", messages=USER)


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
CALL = {"name": "get_weather", "arguments": '{"city": "Paris"}'}


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_tool_call_is_passed_through_both_ways_and_stored(served: Served, model: FakeLLM, streamed):
    model.configure(tool_calls=[CALL])
    async with served.client(await served.key()) as client:
        asked = {"model": "fake-model", "messages": USER, "tools": TOOLS, "tool_choice": "auto"}
        if streamed:
            async with client.chat.completions.stream(**asked) as stream:
                reply = await stream.get_final_completion()
        else:
            reply = await client.chat.completions.create(**asked)
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls"
        [call] = choice.message.tool_calls
        assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
        assert (model.requests[-1]["tools"], model.requests[-1]["tool_choice"]) == (TOOLS, "auto")
        # The tool's result goes back, and the model answers with it.
        model.configure(tool_calls=None, answer="It is sunny in Paris.")
        followed = [
            *USER,
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "sunny"}'},
        ]
        final = await client.chat.completions.create(model="fake-model", messages=followed, tools=TOOLS)
    assert final.choices[0].message.content == "It is sunny in Paris."
    assert model.requests[-1]["messages"][1]["tool_calls"][0]["id"] == call.id
    assert model.requests[-1]["messages"][2] == followed[2]
    first, second = await stored(served)
    assert json.loads(first["tool_calls"])[0]["function"] == CALL and first["answer"] == ""
    assert json.loads(second["api_request"])["messages"][2]["tool_call_id"] == call.id
