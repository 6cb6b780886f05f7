"""How often streamed text is sent to the browser, by how busy the process is."""

from __future__ import annotations

from app.answering import batch_seconds


def test_text_goes_out_every_50_ms_while_few_answers_stream():
    assert batch_seconds(1) == batch_seconds(50) == 0.05


def test_batches_grow_with_the_load_up_to_four_a_second():
    assert 0.05 < batch_seconds(100) < batch_seconds(200) < 0.25
    assert batch_seconds(1000) == batch_seconds(100_000) == 0.25
