"""Hostile markdown: work in proportion to its length, short answers cheap enough to render inline.

Work is counted, not timed: the functions a render calls (markdown-it-py is Python
throughout), the same on every machine. The shapes (runs of `[`, `*`, `_`, backticks,
`<`, nested quotes and lists, tables thousands of cells wide or long, reference
definitions, entities…) live in `tests/hostile.py`; `python -m bench.rendering` prints
how long they take, and `python -m bench.scan_markdown` runs them at the largest size
the app renders.
"""

from __future__ import annotations

import pytest

from app.rendering import highlight
from app.rendering.answers import INLINE_CHARS
from app.rendering.markdown import MAX_MARKDOWN_CHARS, markdown_to_html
from tests import figures
from tests.hostile import CODE_SHAPES, MARKDOWN_SHAPES
from tests.work import calls

# Every hostile input it holds: `make test` runs it, `make test-quick` leaves it out.
pytestmark = pytest.mark.exhaustive

SMALL, BIG = 1_000, 4_000
LESSON = "## Step\n\nUse **bold**, `code` and [a link](https://example.com).\n\n| a | b |\n|---|---|\n"
# The worst hostile shape costs about nine times an ordinary answer of its length.
INLINE_FACTOR = 12


@pytest.mark.parametrize("shape", MARKDOWN_SHAPES, ids=lambda shape: shape.name)
def test_hostile_markdown_takes_work_in_proportion_to_its_length(shape):
    small = calls(lambda: markdown_to_html(shape.text(SMALL)))
    big = calls(lambda: markdown_to_html(shape.text(BIG)))
    figures.add("markdown", shapes=1)
    figures.at_least("markdown", "chars", BIG)
    figures.at_least("markdown", "calls_per_char", big // BIG)
    assert big <= 2 * (BIG / SMALL) * max(small, 100), f"{small} calls at {SMALL} characters, {big} at {BIG}"


def test_a_hostile_answer_short_enough_to_render_inline_costs_a_few_ordinary_ones():
    ordinary = calls(lambda: markdown_to_html((LESSON * (INLINE_CHARS // len(LESSON) + 1))[:INLINE_CHARS]))
    for shape in MARKDOWN_SHAPES:
        hostile = calls(lambda shape=shape: markdown_to_html(shape.text(INLINE_CHARS)))
        assert hostile <= INLINE_FACTOR * ordinary, (shape.name, hostile, ordinary)


def test_the_longest_answer_of_hostile_code_in_every_language_stays_within_its_highlighting_budget():
    blocks = [
        f"~~~~{highlight.aliases(name)[0]}\n{shape.text(3_000)}\n~~~~\n"
        for shape in CODE_SHAPES[:12]
        for name in highlight.ALLOWED
    ]
    blocks = blocks[: MAX_MARKDOWN_CHARS // len(blocks[0])]
    budget = highlight.Budget()
    html = markdown_to_html("".join(blocks), budget)
    assert html.count('<pre class="code"') == len(blocks)
    assert budget.work < highlight.MIN_BLOCK_WORK
    coloured = html.count('<code class="highlight"><span')
    assert 0 < coloured <= highlight.ANSWER_WORK // highlight.MIN_BLOCK_WORK
