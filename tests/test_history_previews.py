"""The collapsed history row shows an answer's words without its markdown syntax."""

from __future__ import annotations

import pytest

from app.rendering.preview import PREVIEW_CHARS, PREVIEW_SCAN_CHARS, preview
from tests.hostile import PREVIEW_SHAPES


def test_markdown_syntax_goes_and_the_words_stay():
    answer = (
        "## Steps\nUse **slicing** or `reversed()`:\n\n> a quote\n- see [the docs](https://docs.python.org)"
    )
    assert preview(answer) == "Steps Use slicing or reversed(): a quote see the docs"


def test_code_keeps_its_brackets_and_arrows():
    assert preview("```python\ndef f(items: list[int]) -> list[int]:\n    return items[::-1]\n```") == (
        "python def f(items: list[int]) -> list[int]: return items[::-1]"
    )


def test_tables_lose_their_pipes_and_rules():
    assert preview("| way | copies? |\n|:--|--:|\n| slice | yes |") == "way copies? slice yes"


def test_long_answers_are_cut_at_a_word():
    cut = preview("word " * 500)
    assert cut.endswith("…") and len(cut) <= PREVIEW_CHARS + 1 and "wor…" not in cut


@pytest.mark.parametrize("shape", list(PREVIEW_SHAPES))
def test_the_preview_of_a_hostile_answer_reads_only_its_start(shape):
    # How long a preview takes is a figure of `python -m bench.rendering`: here, how much it reads.
    start = PREVIEW_SHAPES[shape](PREVIEW_SCAN_CHARS)
    assert preview(start + PREVIEW_SHAPES[shape](50_000) + " words") == preview(start)


def test_a_huge_answer_is_previewed_from_its_start_only():
    answer = "Start here. " + "x " * 500_000
    assert preview(answer) == preview(answer[:PREVIEW_SCAN_CHARS])
    assert preview(answer).startswith("Start here. x x")


def test_rules_of_any_length_go():
    assert preview("| a | b |\n| - | :-: |\n---\n| 1 | 2 |") == "a b 1 2"
