"""The collapsed history row shows an answer's words without its markdown syntax."""

from __future__ import annotations

import time

import pytest

from app.rendering import preview as previews
from app.rendering.preview import PREVIEW_CHARS, preview


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


# Each used to make the preview pattern backtrack cubically: 1,600 spaces took 4.5 s.
HOSTILE = {
    "spaces then a letter": lambda n: " " * n + "x",
    "newlines": lambda n: "\n" * n,
    "blank lines of spaces": lambda n: "  \n" * (n // 3) + "x",
    "a rule that never ends": lambda n: "|" + "-" * n + "x",
    "open brackets": lambda n: "[" * n,
    "links that never close": lambda n: "[a](" * (n // 4),
    "pipes and spaces": lambda n: "| " * (n // 2) + "x",
}


def best_ms(function, tries: int = 5) -> float:
    """CPU milliseconds of this thread a call takes, the least of `tries`: other processes do not count."""
    best = float("inf")
    for _ in range(tries):
        started = time.thread_time()
        function()
        best = min(best, time.thread_time() - started)
    return best * 1000


@pytest.mark.parametrize("shape", list(HOSTILE))
def test_the_preview_of_a_hostile_answer_comes_at_once(shape):
    answer = HOSTILE[shape](1_600)
    assert best_ms(lambda: preview(answer)) < 20, shape


@pytest.mark.parametrize("shape", list(HOSTILE))
def test_the_preview_pattern_takes_time_in_proportion_to_the_text(shape, monkeypatch):
    monkeypatch.setattr(previews, "PREVIEW_SCAN_CHARS", 10**6)
    small, big = HOSTILE[shape](2_000), HOSTILE[shape](8_000)
    quick = best_ms(lambda: preview(small))
    slow = best_ms(lambda: preview(big))
    assert slow <= 8 * max(quick, 0.5), (shape, quick, slow)


def test_a_huge_answer_is_previewed_from_its_start_only():
    answer = "Start here. " + "x " * 500_000
    assert best_ms(lambda: preview(answer)) < 5
    assert preview(answer).startswith("Start here. x x")


def test_rules_of_any_length_go():
    assert preview("| a | b |\n| - | :-: |\n---\n| 1 | 2 |") == "a b 1 2"
