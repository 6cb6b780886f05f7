"""What people type in the search box becomes a safe full-text query on each engine."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from app.rendering.export import safe_cell
from app.storage.fulltext import MySQLRules, Term, as_typed, fts5_query, mysql_query, parse, word_regexp

RULES = MySQLRules(min_token_size=3, stopwords=frozenset({"the", "and", "how"}))


def test_words_phrases_and_prefixes_become_terms_and_operators_lose_their_power():
    assert parse('red "sour dough" pyth* -x OR NEAR(a) +y') == [
        Term("red"),
        Term("sour dough"),
        Term("pyth", prefix=True),
        Term("x"),
        Term("OR"),
        Term("NEAR a"),
        Term("y"),
    ]
    assert parse('  "" *** !!! ') == []
    assert fts5_query(parse('red "sour dough" pyth*')) == '"red" AND "sour dough" AND "pyth"*'


def test_mysql_requires_what_innodb_indexes_and_leaves_the_rest_to_a_word_match():
    against, leftover = mysql_query(parse('espresso "the beans" go how* pyth* "fresh roast"'), RULES)
    assert against == '+espresso +beans +pyth* +"fresh roast"'
    assert leftover == [Term("the beans"), Term("go"), Term("how", prefix=True)]
    assert word_regexp(Term("go")) == r"\bgo\b"
    assert word_regexp(Term("go or rust")) == r"\bgo\W+or\W+rust\b"
    assert word_regexp(Term("pyth", prefix=True)) == r"\bpyth"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_search_text_is_a_valid_fts5_query(text):
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(question, answer)")
    connection.execute("INSERT INTO t VALUES ('a question', 'an answer')")
    query = fts5_query(parse(text))
    if query:
        connection.execute("SELECT rowid FROM t WHERE t MATCH ?", (query,)).fetchall()


def test_cells_a_spreadsheet_would_run_get_a_leading_quote():
    assert [safe_cell(value) for value in ("=1+1", "+1", "-1", "@A1", "\tx", "plain", 5, None)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@A1",
        "'\tx",
        "plain",
        5,
        None,
    ]


def test_the_last_word_is_a_prefix_while_it_is_typed():
    assert as_typed("bake sourd") == [Term("bake"), Term("sourd", prefix=True)]
    assert as_typed("bake sourd ") == [Term("bake"), Term("sourd")]
    assert as_typed('bake "sour dough"') == [Term("bake"), Term("sour dough")]
    assert as_typed("pyth*") == [Term("pyth", prefix=True)]
