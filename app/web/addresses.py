"""Where to send a visitor back to: always a path on this site, whatever the request named."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, urlsplit

MAX_CHARS = 2048
# Printable ASCII but the backslash: left as is when the rest is percent-encoded.
_KEPT = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) != "\\")


def return_address(target: str | None, within: str = "/") -> str | None:
    """The path (and query) a path or an http(s) URL names, if it lies under `within`; else None.

    Only the path of a URL is kept, so the address never leads to another site; the
    result is plain ASCII, fit for a Location header or an attribute.
    """
    if not target or len(target) > MAX_CHARS or any(_refused(char) for char in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme not in ("", "http", "https"):
        return None
    # Without a scheme, "//host/…" (or " //host") names another site; with one, only the path is kept.
    start = parts.path if parts.scheme else target
    if not start.startswith("/") or start.startswith("//"):
        return None
    path = parts.path
    if path != within and not path.startswith(within.rstrip("/") + "/"):
        return None
    return quote(f"{path}?{parts.query}" if parts.query else path, safe=_KEPT)


def _refused(char: str) -> bool:
    # Browsers drop tabs and newlines from addresses and read "\" as "/": "/\t/x" or "/\x" would become "//x".
    return char == "\\" or unicodedata.category(char) == "Cc"
