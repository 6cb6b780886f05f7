"""The collapsed history row shows an answer's words without its markdown syntax."""

from __future__ import annotations

from app.views.history import PREVIEW_CHARS, preview


def test_markdown_syntax_goes_and_the_words_stay():
    answer = "## Steps\nUse **slicing** or `reversed()`:\n\n> a quote\n- see [the docs](https://docs.python.org)"
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
