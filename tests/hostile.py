"""Hostile text for the renderers: code that makes lexers backtrack, markdown that makes parsers rescan."""

from __future__ import annotations

import string
from dataclasses import dataclass

from pygments.lexer import Lexer


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


# Answers that made the history preview's pattern backtrack cubically: 1,600 spaces took 4.5 s.
PREVIEW_SHAPES = {
    "spaces then a letter": lambda n: " " * n + "x",
    "newlines": lambda n: "\n" * n,
    "blank lines of spaces": lambda n: "  \n" * (n // 3) + "x",
    "a rule that never ends": lambda n: "|" + "-" * n + "x",
    "open brackets": lambda n: "[" * n,
    "links that never close": lambda n: "[a](" * (n // 4),
    "pipes and spaces": lambda n: "| " * (n // 2) + "x",
}


def alphabet(lexer: Lexer) -> str:
    """The punctuation a lexer's compiled rules mention, plus whitespace, a letter and a digit."""
    found: set[str] = set()
    for rules in getattr(lexer, "_tokens", {}).values():
        for match, *_ in rules:
            pattern = getattr(match, "__wrapped__", match).__self__.pattern
            found.update(char for char in pattern if char in string.punctuation)
    return "".join(sorted(found or string.punctuation)) + " \t\na0"
