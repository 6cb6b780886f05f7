"""Pygments' lexing steps made countable: each looks at a bounded window of the code, and each is paid for.

A Pygments lexer takes one step per token: it tries its current state's rules, one
regular-expression match each, until one matches. Many lexers try a rule that scans to
the end of the text and fails (an unterminated string, an open comment), once from every
quote or opener in it: each step is short, yet they add up quadratically, and a match
cannot be cut short once it has started. While work is counted here, a step tries its
rules on the next `WINDOW` characters only. A rule that matched up to the window's edge,
or a step where no rule matched at all (short of a line's end), is tried again with a
window four times wider. Every match tried costs one unit of work for each `WINDOW`
characters it may look at, so the work a block takes is a count, the same on every
machine, and a block that would scan quadratically runs out of its allowance instead of
time. Outside counted work the rules are Pygments' own.

Every character comes back, in the tokens Pygments makes, but for one thing: where a
rule needs more than the window to match and a later rule matches within it, the later
one wins. Tried on 339 files of code and prose, 54 had some long token coloured another
way: a docstring longer than the window as a string, a function's name at the end of a
long signature as a name, a long heredoc cut at a shorter end marker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pygments.lexer import RegexLexerMeta

# Characters a rule may look at before a wider window is paid for: most tokens are shorter.
WINDOW = 256

Match = Any
Matcher = Callable[..., Match]


class OutOfWork(Exception):
    """A block needed more work than its allowance."""


class Work:
    """The units of work one block may take, and those it took."""

    def __init__(self, allowance: int) -> None:
        self.allowance = allowance
        self.spent = 0
        self._step: tuple[str, int, int, Match] = ("", -1, -1, None)

    def pay(self, units: int) -> None:
        """Take units of work, or stop the block when its allowance is gone."""
        self.spent += units
        if self.spent > self.allowance:
            raise OutOfWork


_counting = threading.local()


@contextmanager
def counted(work: Work) -> Iterator[Work]:
    """Count the steps of every lexer this thread runs meanwhile against `work`."""
    _counting.work = work
    try:
        yield work
    finally:
        _counting.work = None


def _step(matches: tuple[Matcher, ...], text: str, pos: int, end: int, work: Work) -> tuple[int, Match]:
    """The rule that matches at `pos` and its match, widening the window while its edge may decide."""
    window = WINDOW
    while True:
        cut = min(end, pos + window)
        units = -(-(cut - pos) // WINDOW) or 1
        for index, match in enumerate(matches):
            work.pay(units)
            found = match(text, pos, cut)
            if found is not None:
                if found.end() < cut or cut == end:
                    return index, found
                break
        else:
            # No rule matched: Pygments shows the character as an error, or ends the line.
            if cut == end or text[pos] == "\n":
                return -1, None
        window *= 4


def _counted_rule(matches: tuple[Matcher, ...], index: int) -> Matcher:
    """Rule `index` of a state as Pygments calls it: the first rule takes the step, the others read it."""
    plain = matches[index]

    def match(text: str, pos: int, endpos: int | None = None) -> Match:
        work: Work | None = getattr(_counting, "work", None)
        if work is None:
            return plain(text, pos) if endpos is None else plain(text, pos, endpos)
        end = len(text) if endpos is None else endpos
        step_text, step_pos, chosen, found = work._step
        if index == 0 or step_text is not text or step_pos != pos:
            chosen, found = _step(matches, text, pos, end, work)
            work._step = (text, pos, chosen, found)
        return found if chosen == index else None

    match.__wrapped__ = plain  # type: ignore[attr-defined]
    return match


_done: dict[int, dict[str, list[tuple[Any, ...]]]] = {}
_lock = threading.Lock()


def _count_rules(tokens: dict[str, list[tuple[Any, ...]]] | None) -> None:
    """Replace each state's matches by counted ones, once for each table of rules."""
    if tokens is None:
        return
    with _lock:
        if id(tokens) in _done:
            return
        for state, entries in tokens.items():
            matches = tuple(entry[0] for entry in entries)
            tokens[state] = [(_counted_rule(matches, i), *entry[1:]) for i, entry in enumerate(entries)]
        _done[id(tokens)] = tokens


_make_lexer = RegexLexerMeta.__call__


def _made_counted(cls: RegexLexerMeta, *args: Any, **kwargs: Any) -> Any:
    """A lexer whose rules are counted (those a lexer makes for embedded languages too)."""
    lexer = _make_lexer(cls, *args, **kwargs)
    _count_rules(getattr(lexer, "_tokens", None))
    return lexer


def install() -> None:
    """Count the rules of every regular-expression lexer made from now on (once per process)."""
    RegexLexerMeta.__call__ = _made_counted  # type: ignore[method-assign]
