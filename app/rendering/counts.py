"""Token counts, written one way wherever they are shown."""

from __future__ import annotations

from typing import Any

# Before a count made here because the server reported none (a stopped answer's, say).
ESTIMATED = "≈ "


def tokens(exchange: dict[str, Any]) -> str:
    """`1,204 → 356 tokens` (`≈ …` if estimated): what the model read, then wrote (empty till it ends)."""
    if exchange.get("completion_tokens") is None:
        return ""
    about = ESTIMATED if exchange.get("tokens_estimated") else ""
    return f"{about}{exchange.get('prompt_tokens') or 0:,} → {exchange['completion_tokens']:,} tokens"


def total(count: int, estimated: object) -> str:
    """A total of tokens, `≈ 1,204` when any of it was estimated."""
    return f"{ESTIMATED if estimated else ''}{count:,}"
