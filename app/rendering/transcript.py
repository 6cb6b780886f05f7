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
        answered_by = exchange["model"] or "the model"
        if exchange.get("server"):
            answered_by += f" on {exchange['server']}"
        answer = (exchange["answer"] or "").strip() or f"*({exchange['status']})*"
        parts.append(f"## {answered_by} · {short_time(exchange['answered_at'])}\n\n{answer}\n")
    return "\n".join(parts)
