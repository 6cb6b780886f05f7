"""Code blocks of an answer, coloured with Pygments CSS classes, in time bounded by their size.

Only lexers on an allow-list are used, and each block gets CPU time in proportion to its
length. Many Pygments lexers backtrack badly on hostile text: a quote and forty
backslashes froze the process for seconds with the Scala lexer, and even common ones
lex an unterminated string once from every quote in it. A lexer is allowed when no
single step of it (one regular-expression match, which nothing can cut short) grows
faster than its input; the time budget then stops any lexer whose steps add up
quadratically, and the block is shown as plain text. `python -m bench.scan_lexers`
measures every Pygments lexer; `tests/test_highlighting_time.py` holds this list to it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from html import escape
from io import StringIO
from typing import Any

from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers._mapping import LEXERS

# The allowed lexers, by class name: Pygments' own, or ours (app/rendering/lexers.py) where
# the upstream one backtracks. Each is imported and built on first use: importing all of
# them costs most of a second at start-up.
OURS = frozenset({"BashSessionLexer", "CLexer", "CppLexer", "IniLexer"})
ALLOWED: tuple[str, ...] = (
    "BashLexer",
    "BashSessionLexer",
    "BatchLexer",
    "CLexer",
    "CMakeLexer",
    "CppLexer",
    "CSharpLexer",
    "CssLexer",
    "DartLexer",
    "DiffLexer",
    "DjangoLexer",
    "DockerLexer",
    "ElixirLexer",
    "GoLexer",
    "GraphQLLexer",
    "GroovyLexer",
    "HaskellLexer",
    "HtmlLexer",
    "IniLexer",
    "JavaLexer",
    "JavascriptLexer",
    "JsonLexer",
    "JsxLexer",
    "JuliaLexer",
    "KotlinLexer",
    "LessCssLexer",
    "LuaLexer",
    "MakefileLexer",
    "MarkdownLexer",
    "NginxConfLexer",
    "PerlLexer",
    "PhpLexer",
    "PowerShellLexer",
    "ProtoBufLexer",
    "PythonConsoleLexer",
    "PythonLexer",
    "PythonTracebackLexer",
    "RubyLexer",
    "RustLexer",
    "ScssLexer",
    "SLexer",
    "SqlLexer",
    "SwiftLexer",
    "TexLexer",
    "TOMLLexer",
    "TsxLexer",
    "TypeScriptLexer",
    "VbNetLexer",
    "XmlLexer",
    "YamlLexer",
    "ZigLexer",
)
# Names people write after a fence that are not among these lexers' own aliases.
EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "BashSessionLexer": ("terminal", "shellsession"),
    "BatchLexer": ("cmd",),
    "CLexer": ("h",),
    "CppLexer": ("cc", "cxx", "hpp", "h++"),
    "JavascriptLexer": ("mjs", "cjs", "node"),
    "JsonLexer": ("jsonc", "json5", "geojson"),
    "KotlinLexer": ("kt", "kts"),
    "SqlLexer": (
        "mysql",
        "mariadb",
        "postgresql",
        "postgres",
        "pgsql",
        "plpgsql",
        "sqlite",
        "sqlite3",
        "tsql",
        "t-sql",
        "mssql",
    ),
    "XmlLexer": ("svg", "xsd", "xsl", "xslt", "plist"),
    "YamlLexer": ("docker-compose",),
}
# The markdown lexer would look up a lexer by name for each fence nested in it.
_OPTIONS: dict[str, dict[str, object]] = {"MarkdownLexer": {"handlecodeblocks": False}}

MAX_BLOCK_CHARS = 20_000
ANSWER_BUDGET_CHARS = 100_000
# A block costs at least this much of the budget: each one has a fixed cost besides its length.
MIN_BLOCK_COST = 200
# CPU time a block may take: legitimate code lexes at 1-2 µs a character.
SECONDS_PER_CHAR = 5e-6
MIN_BLOCK_SECONDS = 0.005
# How many tokens pass between two looks at the clock (each look costs a system call).
_TOKENS_PER_CHECK = 16

_FORMATTER = HtmlFormatter(nowrap=True)


def aliases(name: str) -> tuple[str, ...]:
    """Every name a fence may give for an allowed lexer, from Pygments' mapping (nothing imported)."""
    return (*LEXERS[name][2], *EXTRA_NAMES.get(name, ()))


def lexer_class(name: str) -> type[Lexer]:
    """The class of an allowed lexer (importing its module the first time)."""
    if name in OURS:
        from . import lexers

        return getattr(lexers, name)
    import pygments.lexers

    return getattr(pygments.lexers, name)


_NAMES = {alias: name for name in reversed(ALLOWED) for alias in aliases(name)}
_LEXERS: dict[str, Lexer] = {}


class Budget:
    """How much more code one answer may colour."""

    def __init__(self, chars: int = ANSWER_BUDGET_CHARS) -> None:
        self.chars = chars

    def spend(self, chars: int) -> bool:
        """Take a block's share of the budget, if it is there."""
        cost = max(chars, MIN_BLOCK_COST)
        if cost > self.chars:
            return False
        self.chars -= cost
        return True


class _OutOfTime(Exception):
    """A block took more CPU time than its length allows."""


def lexer_for(language: str) -> Lexer | None:
    """The allowed lexer a fence's language names, if any (one instance each, made on first use)."""
    name = _NAMES.get(language.lower())
    if name is None:
        return None
    if (lexer := _LEXERS.get(name)) is None:
        lexer = _LEXERS[name] = lexer_class(name)(**_OPTIONS.get(name, {}))
    return lexer


def code_block(code: str, language: str, budget: Budget) -> str:
    """A fenced block as `<pre>`: coloured when its language is allowed and it fits, else escaped text."""
    name = language.lower()
    lexer = lexer_for(name)
    body = None
    if lexer is not None and len(code) <= MAX_BLOCK_CHARS and budget.spend(len(code)):
        body = colour(code, lexer)
    label = f' data-language="{escape(name)}"' if name else ""
    return f'<pre class="code"{label}><code class="highlight">{body or escape(code)}</code></pre>\n'


def cpu_allowance(chars: int) -> float:
    """The CPU seconds a block of this many characters may take to colour."""
    return max(MIN_BLOCK_SECONDS, SECONDS_PER_CHAR * chars)


def colour(code: str, lexer: Lexer) -> str | None:
    """Pygments' HTML for the code, or None when lexing it runs past its allowance."""
    deadline = time.thread_time() + cpu_allowance(len(code))
    out = StringIO()
    try:
        _FORMATTER.format(_until(deadline, lexer.get_tokens(code)), out)
    except _OutOfTime:
        return None
    return out.getvalue()


def _until(deadline: float, tokens: Iterator[tuple[Any, str]]) -> Iterator[tuple[Any, str]]:
    """The tokens, stopping with `_OutOfTime` once this thread's CPU clock passes the deadline."""
    for count, token in enumerate(tokens):
        if count % _TOKENS_PER_CHECK == 0 and time.thread_time() > deadline:
            raise _OutOfTime
        yield token
