"""What a running answer holds: its text once, and not the request it sent the model."""

from __future__ import annotations

import tracemalloc

import pytest

from app.answers.run import Run
from app.model import Usage
from app.model.openai import OpenAIModel

TOKENS = 4000
QUESTION = "A question with a long document pasted in. " * 25_000  # about 1 MB


def test_a_long_answer_streamed_token_by_token_is_held_once():
    run = Run(1, {}, "token", 60.0)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for number in range(TOKENS):
            # One piece per token, as a quiet process reads them; the streams read the text now and then.
            run.add(f" w{number}")
            if number % 50 == 0:
                run.text()
        text = run.text()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert text.startswith(" w0 w1 w2") and text.endswith(f" w{TOKENS - 1}")
    # The text itself, and not thousands of small strings besides (55 bytes or more each).
    assert held < 2 * len(text), (held, len(text))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_answer_streaming_does_not_hold_the_request_it_sent(model, config):
    model.configure(answer="one two three four five", delay=0.0)
    client = OpenAIModel(config)
    messages = [{"role": "user", "content": QUESTION}]
    tracemalloc.start()
    try:
        stream = client.stream(messages, Usage())
        assert await anext(stream)
        # Counted where this module allocates (the fake model, in this process, keeps what it was sent).
        held = sum(
            stat.size
            for stat in tracemalloc.take_snapshot()
            .filter_traces([tracemalloc.Filter(True, OpenAIModel.stream.__code__.co_filename)])
            .statistics("filename")
        )
        async for _ in stream:
            pass
    finally:
        tracemalloc.stop()
        await client.close()
    assert held < len(QUESTION) / 10, held
