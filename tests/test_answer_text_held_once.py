"""A running answer holds its text once: the pieces the model sent are let go once joined."""

from __future__ import annotations

import tracemalloc

from app.answers.run import Run

TOKENS = 4000


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
