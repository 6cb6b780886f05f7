"""Every allowed lexer, fed hostile code: each block comes back in a small time, in proportion to its length.

Most lexers, even Python's, lex an unterminated string again from every quote in it, so
their total time grows with the square of the input. The highlighter stops them at a CPU
allowance proportional to the block's length and shows the block plain; what no
allowance can cut short is a single step (one regular-expression match), so that must
grow no faster than the input. Both are held here, for every hostile shape of
`tests/hostile.py` and for generated text over each lexer's punctuation;
`python -m bench.scan_lexers` runs the same shapes against every Pygments lexer.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pygments.lexer import Lexer

from app.rendering import highlight
from tests import figures
from tests.hostile import CODE_SHAPES, FLOOR_SECONDS, Shape, alphabet, colour_timing

# The allowed lexers themselves (the app imports each on first use only).
LEXERS = [highlight.lexer_class(name) for name in highlight.ALLOWED]

SMALL, BIG = 500, 2_000
# CPU time a block of BIG characters may take in all: twice its allowance.
BUDGET_SECONDS = 2 * highlight.cpu_allowance(BIG)
# Four times the code may make the longest step at most this many times longer.
STEP_GROWTH = 2 * BIG / SMALL
GENERATED = settings(
    max_examples=6,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def check(lexer: type[Lexer], shape: Shape) -> None:
    """One shape through the app's highlighter: within the budget, its longest step in proportion."""
    allowed = highlight.lexer_for(lexer.aliases[0])
    for tries in (1, 5):
        big = colour_timing(allowed, shape.text(BIG), tries)
        small = None
        if big.longest > STEP_GROWTH * FLOOR_SECONDS:
            small = colour_timing(allowed, shape.text(SMALL), tries)
        in_proportion = small is None or big.longest <= STEP_GROWTH * max(small.longest, FLOOR_SECONDS)
        if big.seconds <= BUDGET_SECONDS and in_proportion:
            break
    figures.add("highlighting", inputs=1)
    figures.at_least("highlighting", "slowest_ms", round(big.seconds * 1000))
    assert big.seconds <= BUDGET_SECONDS, (lexer.name, shape, f"{big.seconds * 1000:.1f} ms")
    assert in_proportion, (
        lexer.name,
        shape,
        f"longest step {small.longest * 1000:.2f} ms at {SMALL} "
        f"characters, {big.longest * 1000:.2f} ms at {BIG}",
    )


def test_the_allow_list_is_counted():
    figures.add("highlighting", lexers=len(highlight.ALLOWED))
    assert len({lexer.name for lexer in LEXERS}) == len(highlight.ALLOWED)


@pytest.mark.parametrize("lexer", LEXERS, ids=lambda lexer: lexer.aliases[0])
def test_hostile_code_is_coloured_in_time_in_proportion_to_its_length(lexer):
    for shape in CODE_SHAPES:
        check(lexer, shape)


@pytest.mark.parametrize("lexer", LEXERS, ids=lambda lexer: lexer.aliases[0])
@GENERATED
@given(data=st.data())
def test_generated_code_over_the_lexers_punctuation_is_coloured_in_time(lexer, data):
    characters = alphabet(highlight.lexer_for(lexer.aliases[0]))
    prefix = data.draw(st.text(characters, max_size=6), label="prefix")
    unit = data.draw(st.text(characters, min_size=1, max_size=5), label="unit")
    check(lexer, Shape("generated", prefix, unit))
