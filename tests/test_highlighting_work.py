"""Every allowed lexer on hostile code: each step paid for, the text whole; ordinary code as in Pygments.

How long the colouring takes is a figure of `python -m bench.rendering`, never a test:
here the work a block takes is a count (`app/rendering/windowed.py`), the same on every
machine. Most lexers, even Python's, lex an unterminated string again from every quote
in it; what keeps them in bounds is that every step of every allowed lexer is counted,
and a block that needs more than its allowance is shown plain.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pygments.lexer import Lexer
from pygments.token import Token

from app.rendering import highlight, windowed
from tests import figures
from tests.hostile import CODE_SHAPES, Shape, alphabet

# Every hostile input it holds: `make test` runs it, `make test-quick` leaves it out.
pytestmark = pytest.mark.exhaustive

# The allowed lexers themselves (the app imports each on first use only).
LEXERS = [highlight.lexer_class(name) for name in highlight.ALLOWED]
# Lexers that loop over the text themselves: JSON one character at a time, a shell session
# one line at a time (each line with a prompt goes to the Bash lexer, which is counted).
HAND_WRITTEN = {"JsonLexer", "BashSessionLexer"}
# Past the window, so that a step may have to look further.
SIZE = windowed.WINDOW + 50
TAGS = re.compile(r"<[^>]+>")
GENERATED = settings(
    max_examples=6,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def allowed(lexer: type[Lexer]) -> Lexer:
    lexer_for = highlight.lexer_for(lexer.aliases[0])
    assert lexer_for is not None
    return lexer_for


def check(lexer: type[Lexer], shape: Shape) -> None:
    """One shape through the app's highlighter: paid for, and coloured whole or shown plain."""
    code = shape.text(SIZE)
    body, work = highlight.colour(code, allowed(lexer), highlight.WORK_PER_CHAR * len(code))
    figures.add("highlighting", inputs=1, plain=body is None)
    assert work > 0 or lexer.__name__ in HAND_WRITTEN, (lexer.name, shape)
    if body is not None:
        # Pygments' own text, uncounted: leading newlines dropped, one added at the end.
        text = "".join(value for _, value in allowed(lexer).get_tokens(code))
        assert unescape(TAGS.sub("", body)) == text, (lexer.name, shape)


def test_the_allow_list_is_counted():
    figures.add("highlighting", lexers=len(highlight.ALLOWED))
    assert len({lexer.name for lexer in LEXERS}) == len(highlight.ALLOWED)


@pytest.mark.parametrize("lexer", LEXERS, ids=lambda lexer: lexer.aliases[0])
def test_hostile_code_is_paid_for_and_comes_back_whole_or_plain(lexer):
    for shape in CODE_SHAPES:
        check(lexer, shape)


@pytest.mark.parametrize("lexer", LEXERS, ids=lambda lexer: lexer.aliases[0])
@GENERATED
@given(data=st.data())
def test_generated_code_over_the_lexers_punctuation_is_paid_for_and_comes_back_whole(lexer, data):
    characters = alphabet(allowed(lexer))
    prefix = data.draw(st.text(characters, max_size=6), label="prefix")
    unit = data.draw(st.text(characters, min_size=1, max_size=5), label="unit")
    check(lexer, Shape("generated", prefix, unit))


ORDINARY = {
    "python": '''import asyncio
from dataclasses import dataclass


@dataclass
class Row:
    """One row of the report."""

    name: str
    count: int = 0


async def totals(rows: list[Row], *, limit: int = 10) -> dict[str, int]:
    # The biggest first; ties keep their order.
    ranked = sorted(rows, key=lambda row: -row.count)[:limit]
    await asyncio.sleep(0)
    return {row.name: row.count * 2 for row in ranked if row.count > 0}
''',
    "javascript": """document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (!target || target.id !== "answers") return;
  /* Scroll only when the reader is at the bottom already. */
  const near = window.innerHeight + window.scrollY >= document.body.offsetHeight - 40;
  if (near) target.lastElementChild?.scrollIntoView({ block: "end" });
});
""",
    "css": """:root { --accent: #3366cc; }
.answer pre.code { overflow-x: auto; padding: 0.5rem 1rem; border-radius: 6px; }
@media (max-width: 600px) { .sidebar { display: none; } }
""",
    "html": """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Answers</title></head>
<body><form method="post" action="/ask"><textarea name="question" required></textarea>
<button type="submit">Ask</button></form></body>
</html>
""",
    "bash": """#!/usr/bin/env bash
set -euo pipefail
for file in "$@"; do
  if [ -f "$file" ]; then
    echo "== ${file%.txt}: $(wc -l < "$file") lines"
  fi
done
""",
    "sql": """SELECT c.id, c.title, COUNT(e.id) AS questions
FROM conversations AS c LEFT JOIN exchanges AS e ON e.conversation_id = c.id
WHERE c.owner = :owner AND e.status IN ('done', 'stopped')
GROUP BY c.id ORDER BY c.updated_at DESC LIMIT 20;
""",
    "yaml": """services:
  app:
    image: answers:latest
    environment:
      DATABASE_URL: "mysql://answers@db:3306/answers"
    ports: ["8000:8000"]
""",
    "json": """{"name": "answers", "version": "1.0.0", "dependencies": {"htmx.org": "2.0.4"}, "private": true}
""",
}


@pytest.mark.parametrize("language", list(ORDINARY))
def test_ordinary_code_is_coloured_as_pygments_colours_it_within_half_its_allowance(language):
    code = ORDINARY[language] * 20
    lexer = highlight.lexer_for(language)
    body, work = highlight.colour(code, lexer, highlight.WORK_PER_CHAR * len(code))
    assert body is not None and work <= highlight.WORK_PER_CHAR * len(code) / 2
    with_no_window = list(lexer.get_tokens(code))
    with windowed.counted(windowed.Work(10**12)):
        assert list(lexer.get_tokens(code)) == with_no_window


def test_a_docstring_longer_than_the_window_is_coloured_as_a_string_and_kept_whole():
    code = 'def f():\n    """' + "word " * windowed.WINDOW + '"""\n    return 1\n'
    body, _ = highlight.colour(code, highlight.lexer_for("python"), highlight.WORK_PER_CHAR * len(code))
    assert body is not None and '<span class="s2">"""word word' in body
    assert unescape(TAGS.sub("", body)) == code
    # Pygments alone, looking as far as it likes, makes it a docstring.
    assert Token.Literal.String.Doc in {kind for kind, _ in highlight.lexer_for("python").get_tokens(code)}
