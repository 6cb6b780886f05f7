"""A conversation's branch as one Markdown document, to download and keep."""

from __future__ import annotations

import re
from collections.abc import Iterable

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .. import messages
from ..storage import Row
from ..storage.status import LIVE, Status
from .answers import in_markdown_thread
from .markdown import MAX_MARKDOWN_CHARS, MAX_NESTING
from .times import short_time

# The title is `#`, each turn `##`: a question's or an answer's own headings start at `###`.
SHIFT = 2
DEEPEST = 6
# Block structure only (inline text is not parsed), as the page's markdown reads it.
_BLOCKS = MarkdownIt("js-default", {"maxNesting": MAX_NESTING}).enable(["table"])
# An ATX heading's marks, after the blanks and the block quote or list markers its line opens with.
_ATX = re.compile(r"^((?:[ \t]*(?:>|(?:[-*+]|\d{1,9}[.)])(?=[ \t])))*[ \t]*)(#{1,6})(?=[ \t]|$)")
# Characters that would change how a label reads as Markdown.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def markdown(title: str, exchanges: Iterable[Row]) -> str:
    """The title, then each question and its answer in order, with who answered and when, and how it ended."""
    parts = [f"# {' '.join(title.split()) or 'Untitled chat'}\n"]
    for exchange in exchanges:
        question = nested(exchange["question"].strip())
        parts.append(f"## You · {short_time(exchange['created_at'])}\n\n{question}\n")
        if files := exchange.get("files"):
            parts.append("".join(f"- Attached: {_named(file)}\n" for file in files))
        answered_by = exchange["model"] or "the model"
        if exchange.get("server"):
            answered_by += f" on {exchange['server']}"
        said = [nested((exchange["answer"] or "").strip()), _label(exchange), _feedback(exchange)]
        body = "\n\n".join(part for part in said if part)
        parts.append(f"## {answered_by} · {short_time(exchange['answered_at'])}\n\n{body}\n")
    return "\n".join(parts)


async def markdown_off_the_loop(title: str, exchanges: list[Row]) -> str:
    """`markdown`, in the thread where long answers are rendered: a long chat takes a while to read."""
    return await in_markdown_thread(markdown, title, exchanges)


def label(exchange: Row) -> str:
    """How an answer ended, unless it simply finished: stopped, interrupted, failed or still being written."""
    status = exchange["status"]
    if status == Status.ERROR:
        return exchange.get("error") or messages.UNEXPECTED_IN_ANSWER
    if status == Status.STOPPED:
        return messages.STOPPED
    if status == Status.INTERRUPTED:
        return messages.INTERRUPTED
    if status in LIVE:
        return messages.STILL_WRITTEN_WHEN_COPIED
    return ""


def _label(exchange: Row) -> str:
    said = _SPECIAL.sub(r"\\\1", label(exchange))
    return f"*{said}*" if said else ""


def _feedback(exchange: Row) -> str:
    """The owner's feedback on the answer, as a quoted line: the thumb and the comment, as text."""
    given = exchange.get("feedback")
    if not given:
        return ""
    said = messages.feedback_given(given["rating"], given.get("comment"))
    return "> " + _SPECIAL.sub(r"\\\1", " ".join(said.split()))


def nested(text: str) -> str:
    """Markdown with every heading SHIFT levels deeper (at most DEEPEST); code and other text as they were."""
    if len(text) > MAX_MARKDOWN_CHARS:
        # Shown as plain text on the page too: too long to read as Markdown in good time.
        return text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    tokens: list[Token] = []
    _BLOCKS.block.parse("\n".join(lines), _BLOCKS, {}, tokens)
    # From the last heading up, so that a setext heading made one line leaves the lines above in place.
    for token in reversed([token for token in tokens if token.type == "heading_open" and token.map]):
        start, end = token.map  # type: ignore[misc]
        marks = "#" * min(int(token.tag[1]) + SHIFT, DEEPEST)
        if token.markup.startswith("#"):
            lines[start] = _ATX.sub(rf"\g<1>{marks}", lines[start], count=1)
        elif token.level == 0:
            # A setext heading (text underlined with = or -) becomes an ATX one of the new level.
            words = " ".join(line.strip() for line in lines[start : end - 1])
            lines[start:end] = [f"{marks} {words}"]
    return "\n".join(lines)


def _named(file: Row) -> str:
    """A file as the transcript names it: its name (escaped for Markdown), kind and size."""
    name = _SPECIAL.sub(r"\\\1", " ".join(file["name"].split()))
    return f"{name} ({file['media_type'].partition(';')[0]}, {file['size']:,} bytes)"
