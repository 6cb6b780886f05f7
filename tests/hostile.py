"""Hostile text for the renderers: code that makes lexers backtrack, markdown that makes parsers rescan."""

from __future__ import annotations

import gc
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pygments.lexer import Lexer

from app.rendering import highlight


@dataclass(frozen=True)
class Shape:
    """A prefix, a unit repeated to the size asked, and a suffix that spoils any match."""

    name: str
    prefix: str
    unit: str
    suffix: str = ""

    def text(self, size: int) -> str:
        """This shape at about `size` characters."""
        room = max(size - len(self.prefix) - len(self.suffix), len(self.unit))
        return self.prefix + self.unit * (room // len(self.unit)) + self.suffix


QUOTES = ['"', "'", "`", '"""', '@"']

CODE_SHAPES = [
    # runs of backslashes after a quote, and escapes that never close
    *(Shape(f"{quote} then backslashes", quote, "\\") for quote in QUOTES),
    *(Shape(f"{quote} then escaped quotes", quote, "\\" + quote[-1]) for quote in QUOTES),
    Shape("quote then backslash-spaces", '"', "\\ "),
    *(Shape(f"quote-backslash pairs {quote}", "", quote + "\\") for quote in QUOTES),
    Shape("backslash-newlines", "", "\\\n"),
    # strings, comments and heredocs left open
    Shape("open string", '"', "a b "),
    Shape("open multi-line string", "'", "a\n"),
    Shape("open block comment", "/*", "a * "),
    Shape("block comment openers", "", "/*"),
    Shape("html comment openers", "", "<!--"),
    Shape("open heredoc", "cat <<EOF\n", "line $x\n"),
    Shape("open indented heredoc", "cat <<-EOF\n", "\t$x\n"),
    Shape("heredoc openers", "", "<<A\n"),
    Shape("here-string openers", "", "<<<"),
    Shape("php heredoc", "<?php $a = <<<EOT\n", "{$x}\n"),
    # nesting
    Shape("open parentheses", "", "("),
    Shape("open brackets", "", "["),
    Shape("open braces", "", "{"),
    Shape("mixed openers", "", "([{<"),
    Shape("command substitutions", "", "$("),
    Shape("parameter expansions", "", "${"),
    Shape("interpolations", "", "#{"),
    Shape("interpolations in a string", '"', "#{"),
    Shape("expansions in a string", '"', "${"),
    Shape("substitutions in a string", '"', '$("'),
    Shape("template literal nesting", "`", "${`"),
    Shape("angle brackets", "", "<"),
    Shape("tag openers", "", "<a "),
    Shape("generic nesting", "", "List<"),
    # whitespace
    Shape("spaces then a letter", "", " ", "x"),
    Shape("newlines then a letter", "", "\n", "x"),
    Shape("mixed whitespace", "", " \t\n", "x"),
    Shape("spaces and newlines after a word", "x", " \n"),
    Shape("indented lines", "", "    \n"),
    # regexes, operators, comments
    Shape("slashes", "", "/"),
    Shape("regex of escaped slashes", "x = /", "\\/"),
    Shape("regex-looking runs", "", "/a"),
    Shape("line comment markers", "", "#"),
    Shape("dashes", "", "-"),
    Shape("equals", "", "="),
    Shape("colons", "", ":"),
    Shape("dots", "", "."),
    Shape("percent signs", "", "%"),
    Shape("at signs", "", "@"),
    Shape("dollar signs", "", "$"),
    Shape("ampersands", "", "&"),
    Shape("asterisks", "", "*"),
    Shape("pipes", "", "|"),
    Shape("semicolons", "", ";"),
    # words and numbers
    Shape("one long word", "", "a"),
    Shape("one long number", "", "0"),
    Shape("number-like runs", "", "1."),
    Shape("word-dot runs", "", "a."),
    Shape("scope runs", "", "a::"),
    # mixes
    Shape("quote, backslash, interpolation", '"', "\\#{"),
    Shape("comment and string openers", "", "/*\"'"),
    Shape("everything open", "", "\"'`/*([{$(${#{<"),
]

MARKDOWN_SHAPES = [
    Shape("open brackets", "", "["),
    Shape("bracket pairs", "", "[a]"),
    Shape("link openers", "", "[a]("),
    Shape("image openers", "", "!["),
    Shape("asterisks", "", "*"),
    Shape("asterisk-letter runs", "", "*a"),
    Shape("underscores", "", "_"),
    Shape("underscore-letter runs", "", "_a"),
    Shape("emphasis delimiter mix", "", "*_**__"),
    Shape("strong openers", "", "**a "),
    Shape("backticks", "", "`"),
    Shape("backtick-letter runs", "", "`a"),
    Shape("growing backtick runs", "", "``a`"),
    Shape("less-than signs", "", "<"),
    Shape("autolink openers", "", "<a"),
    Shape("quote nesting", "", ">"),
    Shape("quote nesting per line", "", "> > > > a\n"),
    Shape("nested list markers", "", "- "),
    Shape("nested ordered lists", "", "1. "),
    Shape("list indentation", "", "  - a\n"),
    Shape("wide table", "| a |\n|", "-|", "\n| b |\n"),
    Shape("wide table header", "", "a|", "\n" + "-|" * 100 + "\n"),
    Shape("table columns", "", "|"),
    Shape("long table", "| a | b |\n|---|---|\n", "| 1 | 2 |\n"),
    Shape("reference definitions", "", "[a]: /u\n"),
    Shape("reference definition openers", "", "[a]:"),
    Shape("references used", "[a]: /u\n", "[a] "),
    Shape("entity runs", "", "&amp;"),
    Shape("entity openers", "", "&#"),
    Shape("backslashes", "", "\\"),
    Shape("escaped punctuation", "", "\\*"),
    Shape("fence openers", "", "```\n"),
    Shape("tildes", "", "~"),
    Shape("headings", "", "# a\n"),
    Shape("setext underlines", "a\n", "=\n"),
    Shape("html-looking", "", "<div>"),
    Shape("newlines", "", "\n"),
    Shape("spaces", "", " ", "x"),
    Shape("link titles", '[a](/u "', '\\"'),
    Shape("link destinations in angle brackets", "[a](<", "a"),
    Shape("nested links", "", "[[a](b)"),
    Shape("everything", "", "[*_`<>|&\\!\n"),
]


def alphabet(lexer: Lexer) -> str:
    """The punctuation a lexer's compiled rules mention, plus whitespace, a letter and a digit."""
    found: set[str] = set()
    for rules in getattr(lexer, "_tokens", {}).values():
        for match, *_ in rules:
            found.update(char for char in match.__self__.pattern if char in string.punctuation)
    return "".join(sorted(found or string.punctuation)) + " \t\na0"


def best_seconds(render: Callable[[str], object], text: str, tries: int) -> float:
    """The least CPU time of `tries` renders: noise only ever adds time.

    CPU time of this thread, not the wall clock: being descheduled is not the renderer's doing.
    """
    best = float("inf")
    for _ in range(tries):
        started = time.thread_time()
        render(text)
        best = min(best, time.thread_time() - started)
    return best


# Below this a time is mostly noise, so growth is judged against this floor.
FLOOR_SECONDS = 0.0005


@dataclass(frozen=True)
class Timing:
    """The best of a few runs: CPU seconds in all, and the longest wait for a single token."""

    seconds: float
    longest: float


class TimedLexer:
    """A lexer whose tokens are timed as they come, to find its longest single step."""

    def __init__(self, lexer: Lexer) -> None:
        self.lexer = lexer
        self.longest = 0.0

    def get_tokens(self, text: str) -> Iterator[tuple[Any, str]]:
        """The lexer's tokens, noting the longest wait for one."""
        last = time.thread_time()
        for token in self.lexer.get_tokens(text):
            now = time.thread_time()
            self.longest, last = max(self.longest, now - last), now
            yield token


def colour_timing(lexer: Lexer, text: str, tries: int) -> Timing:
    """How the app's colouring of `text` with `lexer` went, best of `tries`."""
    runs = []
    for _ in range(tries):
        timed = TimedLexer(lexer)
        started = time.thread_time()
        highlight.colour(text, timed)  # type: ignore[arg-type]
        runs.append(Timing(time.thread_time() - started, timed.longest))
    return Timing(min(run.seconds for run in runs), min(run.longest for run in runs))


@dataclass(frozen=True)
class Growth:
    """The best times of a shape at a small and a big size, and whether the big one stayed in proportion."""

    quick: float
    slow: float
    linear: bool


def growth(
    render: Callable[[str], object], shape: Shape, small: int, big: int, budget: float, tries: int = 5
) -> Growth:
    """Time a shape at two sizes, again (best of `tries`) when over `budget` or out of proportion.

    In proportion: `big` characters take at most twice their share of `small` ones.
    """
    limit = 2 * big / small
    for attempt in (1, tries):
        slow = best_seconds(render, shape.text(big), attempt)
        quick = best_seconds(render, shape.text(small), attempt) if slow > limit * FLOOR_SECONDS else 0.0
        linear = slow <= limit * max(quick, FLOOR_SECONDS)
        if linear and slow <= budget:
            break
    return Growth(quick, slow, linear)


@dataclass(frozen=True)
class Steps:
    """How lexing one text went: whether it ended within its time, how long it took, its slowest token."""

    finished: bool
    seconds: float
    longest: float


def lex_steps(lexer: Lexer, text: str, seconds: float) -> Steps:
    """Lex `text` for at most `seconds` of CPU time, timing each token (the garbage collector paused)."""
    gc.disable()
    try:
        started = last = time.thread_time()
        longest = 0.0
        for _ in lexer.get_tokens(text):
            now = time.thread_time()
            longest, last = max(longest, now - last), now
            if now - started > seconds:
                return Steps(False, now - started, longest)
        return Steps(True, last - started, longest)
    finally:
        gc.enable()
