"""What people type in the search box, made safe for SQLite FTS5 and MySQL boolean full-text mode."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TERMS = 12
MAX_TERM_CHARS = 100
_TERM = re.compile(r'"([^"]*)"?|([^\s"]+)')
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Term:
    """One thing every result must contain: a word, a quoted phrase, or a word prefix (`pyth*`)."""

    text: str
    prefix: bool = False

    @property
    def words(self) -> list[str]:
        """The words of the term, as both engines' tokenisers split them."""
        return _WORD.findall(self.text)


def parse(query: str) -> list[Term]:
    """Split a search into terms: words, "quoted phrases" and `prefix*` words; operators lose their power."""
    terms: list[Term] = []
    for match in _TERM.finditer(query):
        phrase, word = match.groups()
        if phrase is not None:
            term = Term(" ".join(_WORD.findall(phrase))[:MAX_TERM_CHARS])
        else:
            prefix = word.endswith("*")
            words = _WORD.findall(word)
            term = Term(" ".join(words)[:MAX_TERM_CHARS], prefix and len(words) == 1)
        if term.text and term not in terms:
            terms.append(term)
    return terms[:MAX_TERMS]


def as_typed(query: str) -> list[Term]:
    """`parse`, with the last word a prefix while it is being typed (`sourd` finds sourdough).

    A word followed by a space, or a quoted phrase, is taken as finished.
    """
    terms = parse(query)
    last = next(reversed(list(_TERM.finditer(query))), None)
    if terms and last is not None and last.group(2) is not None and last.end() == len(query):
        words = _WORD.findall(last.group(2))
        if len(words) == 1 and terms[-1] == Term(words[0][:MAX_TERM_CHARS]):
            terms[-1] = Term(terms[-1].text, prefix=True)
    return terms


def fts5_query(terms: list[Term]) -> str:
    """An FTS5 MATCH expression requiring every term, each quoted so nothing in it is an operator."""
    return " AND ".join(f'"{term.text}"' + ("*" if term.prefix else "") for term in terms)


@dataclass(frozen=True, slots=True)
class MySQLRules:
    """What InnoDB's full-text index leaves out: words shorter than its minimum, and stopwords."""

    min_token_size: int = 3
    stopwords: frozenset[str] = frozenset()

    def indexed(self, word: str) -> bool:
        """Whether InnoDB indexed this word, so that requiring it can find anything."""
        return len(word) >= self.min_token_size and word.lower() not in self.stopwords


def mysql_query(terms: list[Term], rules: MySQLRules) -> tuple[str, list[Term]]:
    """A boolean-mode AGAINST string for the terms InnoDB can find, and the terms left to a word match."""
    required: list[str] = []
    leftover: list[Term] = []
    for term in terms:
        words = term.words
        kept = [word for word in words if rules.indexed(word)]
        if term.prefix and kept:
            required.append(f"+{kept[0]}*")
        elif len(kept) == len(words) and len(words) > 1:
            required.append(f'+"{term.text}"')
        elif kept:
            # A phrase with unindexed words in it cannot be matched as a phrase; require its words.
            required.extend(f"+{word}" for word in kept)
            if len(kept) < len(words):
                leftover.append(term)
        else:
            leftover.append(term)
    return " ".join(required), leftover


def word_regexp(term: Term) -> str:
    """A regular expression finding a term as whole words (its words are only word characters)."""
    return r"\b" + r"\W+".join(term.words) + ("" if term.prefix else r"\b")
