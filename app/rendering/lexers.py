"""Pygments lexers whose rules backtracked quadratically within a single match, rewritten to stay linear.

Each class keeps its upstream name and aliases; only the rules named here differ, and
they match what upstream matched. A single regular-expression match cannot be cut
short, so these are the rules no time budget could bound.
"""

from __future__ import annotations

import re

from pygments.lexer import bygroups, default, include, this, using
from pygments.lexers.c_cpp import CFamilyLexer
from pygments.lexers.c_cpp import CLexer as UpstreamCLexer
from pygments.lexers.c_cpp import CppLexer as UpstreamCppLexer
from pygments.lexers.configs import IniLexer as UpstreamIniLexer
from pygments.lexers.shell import BashSessionLexer as UpstreamBashSessionLexer
from pygments.token import Comment, Keyword, Name, Operator, Punctuation, String, Text, Whitespace


def _c_family_root() -> list:
    """The root state of C and C++, its function rules giving each run of whitespace one owner.

    Upstream lets `[&*\\s]+` after a return type and the `\\s*` before a function's name
    share the same whitespace, and so again around `[^;{]*` after the signature: a line
    that is no function tries every split, quadratic in the whitespace.
    """
    ident = CFamilyLexer._namespaced_ident
    comment = rf"(?:{CFamilyLexer._comment_single})|(?:{CFamilyLexer._comment_multiline})"
    comments = rf"((?:(?:{comment})\s*)*)"
    spaced_comments = rf"(\s*(?:(?:{comment})\s*)*)"
    head = rf"({ident}(?:[&*\s])+){comments}({ident}){spaced_comments}(\([^;\"')]*?\)){spaced_comments}"
    groups = bygroups(
        using(this),
        using(this, state="whitespace"),
        Name.Function,
        using(this, state="whitespace"),
        using(this),
        using(this, state="whitespace"),
        using(this),
        Punctuation,
    )
    return [
        include("whitespace"),
        include("keywords"),
        (head + r"((?:[^;{/\"'\s][^;{/\"']*)?)(\{)", groups, "function"),
        (head + r"((?:[^;/\"'\s][^;/\"']*)?)(;)", groups),
        include("types"),
        default("statement"),
    ]


class CLexer(UpstreamCLexer):
    """C, with linear function rules."""

    tokens = {"root": _c_family_root()}


class CppLexer(UpstreamCppLexer):
    """C++, with linear function rules (upstream's extra root rules follow a default, so never ran)."""

    tokens = {"root": _c_family_root()}


# A key ends at the first `=` or `:` and never in blanks, so only one split of a line is tried;
# upstream's `(.*?)([ \t]*)([=:])` retried the rest of the line from every `=` and `:` in it.
_INI_KEY = r"((?:[^=:\n]*[^=:\s])?)([ \t]*)([=:])([ \t]*)"
_INI_KEY_GROUPS = (Name.Attribute, Whitespace, Operator, Whitespace)


class IniLexer(UpstreamIniLexer):
    """INI, with keys and values that cannot share characters."""

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"[;#].*", Comment.Single),
            (r"(\[.*?\])([ \t]*)$", bygroups(Keyword, Whitespace)),
            (_INI_KEY + r"""(["'])""", bygroups(*_INI_KEY_GROUPS, String), "quoted_value"),
            (
                _INI_KEY + r"((?:[^;#\s][^;#\n]*)?)(\\)(\s+)",
                bygroups(*_INI_KEY_GROUPS, String, Text, Whitespace),
                "value",
            ),
            (_INI_KEY + r"([^ ;#\n]*(?: +[^ ;#\n]+)*)", bygroups(*_INI_KEY_GROUPS, String)),
            (r"(.+?)$", Name.Attribute),
        ],
    }


class BashSessionLexer(UpstreamBashSessionLexer):
    """Shell sessions, with a prompt pattern whose parts cannot share characters.

    Upstream's `\\w+\\S+[@:]\\S+(?:\\s+\\S+)?\\s*[$#%]` and `\\[\\S+[@:][^\\n]+\\].+` split a
    long line in polynomially many ways before failing.
    """

    _ps1rgx = re.compile(
        r"^((?:\[[^\]\n]*\][ \t]*|\([^)\s]*\)[ \t]*)?"
        r"(?:(?:sh[^\s$#%❯]*|[\w.-]+[@:][^\s$#%❯]+(?:[ \t]+[^\s$#%❯]+)?)[ \t]*)?"
        r"[$#%❯][ \t]*)(.*\n?)"
    )
