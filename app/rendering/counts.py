"""Token counts, written one way wherever they are shown."""

from __future__ import annotations

from typing import Any


def tokens(exchange: dict[str, Any]) -> str:
    """`1,204 → 356 tokens`: what the model read, then what it wrote (empty before it answered)."""
    if exchange.get("completion_tokens") is None:
        return ""
    return f"{exchange.get('prompt_tokens') or 0:,} → {exchange['completion_tokens']:,} tokens"
