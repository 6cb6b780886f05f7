"""Hostile markdown: rendering time in proportion to length, and short answers quick enough to render inline.

The shapes (runs of `[`, `*`, `_`, backticks, `<`, nested quotes and lists, tables
thousands of cells wide or long, reference definitions, entities…) live in
`tests/hostile.py`; `python -m bench.scan_markdown` runs them at the largest
size the app renders.
"""

from __future__ import annotations

import time

import pytest

from app.rendering import highlight
from app.rendering.answers import INLINE_CHARS
from app.rendering.markdown import MAX_MARKDOWN_CHARS, markdown_to_html
from tests import figures
from tests.hostile import CODE_SHAPES, MARKDOWN_SHAPES, best_seconds, growth

SMALL, BIG = 12_500, 50_000
# Hostile markdown costs up to ~8 µs a character (legitimate answers ~1 µs); room for a slower machine.
SECONDS_PER_CHAR = 20e-6
INLINE_SECONDS = 0.02


@pytest.mark.parametrize("shape", MARKDOWN_SHAPES, ids=lambda shape: shape.name)
def test_hostile_markdown_renders_in_time_in_proportion_to_its_length(shape):
    found = growth(markdown_to_html, shape, SMALL, BIG, SECONDS_PER_CHAR * BIG)
    figures.add("markdown", shapes=1)
    figures.at_least("markdown", "chars", BIG)
    figures.at_least("markdown", "slowest_ms", round(found.slow * 1000))
    assert found.slow <= SECONDS_PER_CHAR * BIG, f"{found.slow * 1000:.0f} ms"
    quick, slow = round(found.quick * 1000), round(found.slow * 1000)
    assert found.linear, f"{quick} ms at {SMALL} characters, {slow} ms at {BIG}"


@pytest.mark.parametrize("shape", MARKDOWN_SHAPES, ids=lambda shape: shape.name)
def test_a_hostile_answer_short_enough_to_render_inline_renders_quickly(shape):
    assert best_seconds(markdown_to_html, shape.text(INLINE_CHARS), 3) <= INLINE_SECONDS


def test_the_longest_answer_of_hostile_code_in_every_language_stays_within_its_highlighting_budget():
    blocks = [
        f"~~~~{highlight.aliases(name)[0]}\n{shape.text(3_000)}\n~~~~\n"
        for shape in CODE_SHAPES[:12]
        for name in highlight.ALLOWED
    ]
    blocks = blocks[: MAX_MARKDOWN_CHARS // len(blocks[0])]
    answer = "".join(blocks)
    started = time.thread_time()
    html = markdown_to_html(answer)
    elapsed = time.thread_time() - started
    # Colouring stops after the budget's worth of code, each block within its allowance.
    most = highlight.cpu_allowance(highlight.ANSWER_BUDGET_CHARS) + SECONDS_PER_CHAR * len(answer)
    assert elapsed <= most, f"{elapsed * 1000:.0f} ms"
    assert html.count('<pre class="code"') == len(blocks)
