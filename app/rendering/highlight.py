"""Code blocks of an answer, coloured with Pygments CSS classes, within a count of work bounded by their size.

Only lexers on an allow-list are used, and each block may take work in proportion to
its length, counted in regular-expression matches (`windowed.py`), never in time: a
stored answer is coloured the same way on every machine, however busy. Many Pygments
lexers backtrack badly on hostile text: a quote and forty backslashes froze the process
for seconds with the Scala lexer, and even common ones lex an unterminated string once
from every quote in it. A lexer is allowed when no single step of it (one regular-
expression match, which nothing can cut short) grows faster than its input; the window
each step looks through, and the work it pays for, then stop any lexer whose steps add
up quadratically, and the block is shown as plain text. `python -m bench.scan_lexers`
measures every Pygments lexer, and `python -m bench.rendering` prints how long the
allowed ones take on hostile code.
"""

from __future__ import annotations

from html import escape
from io import StringIO

from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers._mapping import LEXERS

from . import windowed

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
# Work a block may take for each of its characters: ordinary code takes 3 to 18 units.
WORK_PER_CHAR = 40
# Work one answer may spend on colour: some 30,000 to 150,000 characters of ordinary code.
ANSWER_WORK = 500_000
# A block costs at least this much of the answer's work: each one has a fixed cost besides its length.
MIN_BLOCK_WORK = 2_000

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
    """How much more work one answer may spend on colour."""

    def __init__(self, work: int = ANSWER_WORK) -> None:
        self.work = work

    def allowance(self, chars: int) -> int:
        """The work a block of this many characters may take now (0: it stays plain)."""
        if self.work < MIN_BLOCK_WORK:
            return 0
        return min(max(WORK_PER_CHAR * chars, MIN_BLOCK_WORK), self.work)

    def spend(self, work: int) -> None:
        """Take the work a block took (at least a block's minimum) from what the answer has left."""
        self.work = max(self.work - max(work, MIN_BLOCK_WORK), 0)


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
    if lexer is not None and len(code) <= MAX_BLOCK_CHARS and (allowance := budget.allowance(len(code))):
        body, work = colour(code, lexer, allowance)
        budget.spend(work)
    label = f' data-language="{escape(name)}"' if name else ""
    return f'<pre class="code"{label}><code class="highlight">{body or escape(code)}</code></pre>\n'


def colour(code: str, lexer: Lexer, allowance: int) -> tuple[str | None, int]:
    """Pygments' HTML for the code (None when lexing it needs more than `allowance`), and the work it took."""
    out = StringIO()
    with windowed.counted(windowed.Work(allowance)) as work:
        try:
            _FORMATTER.format(lexer.get_tokens(code), out)
        except windowed.OutOfWork:
            return None, work.spent
    return out.getvalue(), work.spent


windowed.install()
