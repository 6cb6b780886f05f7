"""Clients nobody here wrote call the API: curl, and requests with the sseclient-py event parser."""

from __future__ import annotations

import asyncio
import json
import subprocess

import requests
import sseclient

from tests.api_server import Served
from tests.fake_llm import FakeLLM

BODY = {"model": "fake-model", "messages": [{"role": "user", "content": "Say hello."}]}


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "--silent", "--show-error", *args], capture_output=True, text=True, timeout=60
    )


async def test_curl_lists_models_and_gets_a_completion_whole_and_streamed(served: Served, model: FakeLLM):
    model.configure(answer="Hello from the fake model.")
    key = await served.key()
    auth = f"Authorization: Bearer {key}"
    listed = await asyncio.to_thread(curl, "-H", auth, f"{served.api}/models")
    assert json.loads(listed.stdout)["data"][0]["id"] == "fake-model"
    whole = await asyncio.to_thread(
        curl,
        "-H",
        auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps(BODY),
        f"{served.api}/chat/completions",
    )
    assert json.loads(whole.stdout)["choices"][0]["message"]["content"] == "Hello from the fake model."
    streamed = await asyncio.to_thread(
        curl,
        "--no-buffer",
        "-H",
        auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps(BODY | {"stream": True, "stream_options": {"include_usage": True}}),
        f"{served.api}/chat/completions",
    )
    events = [line[len("data: ") :] for line in streamed.stdout.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == (
        "Hello from the fake model."
    )
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    refused = await asyncio.to_thread(
        curl, "-w", "%{http_code}", "-H", "Authorization: Bearer nope", f"{served.api}/models"
    )
    assert refused.stdout.endswith("401") and '"invalid_api_key"' in refused.stdout
    rows = await served.db.fetch_all("SELECT key_name, status FROM exchanges")
    assert [(row["key_name"], row["status"]) for row in rows] == [("laptop", "done")] * 2


def read_stream(url: str, key: str) -> list[dict]:
    response = requests.post(
        url,
        json=BODY | {"stream": True},
        headers={"Authorization": f"Bearer {key}", "Accept": "text/event-stream"},
        stream=True,
        timeout=30,
    )
    response.raise_for_status()
    chunks = []
    for event in sseclient.SSEClient(response).events():
        if event.data == "[DONE]":
            break
        chunks.append(json.loads(event.data))
    response.close()
    return chunks


async def test_requests_and_sseclient_read_the_stream_event_by_event(served: Served, model: FakeLLM):
    model.configure(answer="one two three four", delay=0.01)
    chunks = await asyncio.to_thread(read_stream, f"{served.api}/chat/completions", await served.key())
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "one two three four"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
