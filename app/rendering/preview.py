"""The start of an answer as plain words, for the history's collapsed rows."""

from __future__ import annotations

import re

PREVIEW_CHARS = 160
# The preview reads no further than this into an answer, however long the answer is.
PREVIEW_SCAN_CHARS = 2_000
# Markdown syntax, not text: the brackets and address of a link, emphasis and code marks,
# heading, quote and list marks at a line's start, table rules, and table pipes. No two
# neighbouring parts can match the same character, so the pattern runs in linear time.
_MARKUP = re.compile(
    r"\[([^\[\]\n]*)\]\([^)\]\s]*\)|[*`~]+|__+|^[ \t]*(?:#+|>+|[-+*]|\d+\.)\s|^[:| \t]*-[-:| \t]*$|\|",
    re.MULTILINE,
)


def preview(answer: str) -> str:
    """The start of an answer as plain words, for the collapsed row."""
    words = " ".join(_MARKUP.sub(lambda match: match.group(1) or "", answer[:PREVIEW_SCAN_CHARS]).split())
    return words if len(words) <= PREVIEW_CHARS else words[:PREVIEW_CHARS].rsplit(" ", 1)[0] + "…"
