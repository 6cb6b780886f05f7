"""A conversation as one Markdown document, to download and keep."""

from __future__ import annotations

from collections.abc import Iterable

from ..storage import Row
from .times import short_time


def markdown(title: str, exchanges: Iterable[Row]) -> str:
    """The title, then each question and its answer, with who answered and when."""
    parts = [f"# {' '.join(title.split()) or 'Untitled chat'}\n"]
    for exchange in exchanges:
        parts.append(f"## You · {short_time(exchange['created_at'])}\n\n{exchange['question'].strip()}\n")
        if files := exchange.get("files"):
            parts.append("".join(f"- Attached: {_named(file)}\n" for file in files))
        answered_by = exchange["model"] or "the model"
        if exchange.get("server"):
            answered_by += f" on {exchange['server']}"
        answer = (exchange["answer"] or "").strip() or f"*({exchange['status']})*"
        parts.append(f"## {answered_by} · {short_time(exchange['answered_at'])}\n\n{answer}\n")
    return "\n".join(parts)


def _named(file: Row) -> str:
    """A file as the transcript names it: its name (escaped for Markdown), kind and size."""
    name = "".join(f"\\{char}" if char in "\\`*_[]<>#|" else char for char in " ".join(file["name"].split()))
    return f"{name} ({file['media_type'].partition(';')[0]}, {file['size']:,} bytes)"
