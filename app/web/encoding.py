"""Content codings: which one a browser accepts, and what is worth compressing."""

from __future__ import annotations

from collections.abc import Iterable

# Best first: brotli is about a fifth smaller than gzip on our pages and scripts.
CODINGS = ("br", "gzip")
COMPRESSIBLE = (
    b"text/html",
    b"text/css",
    b"text/plain",
    b"text/csv",
    b"text/markdown",
    b"text/javascript",
    b"application/javascript",
    b"application/json",
    b"application/x-ndjson",
    b"image/svg+xml",
)


def accepted_coding(headers: Iterable[tuple[bytes, bytes]], offered: Iterable[str] = CODINGS) -> str | None:
    """The best of the offered codings (brotli, then gzip) that Accept-Encoding allows, or None."""
    accept = b",".join(value for name, value in headers if name == b"accept-encoding")
    if not accept:
        return None
    weights: dict[str, float] = {}
    for item in accept.decode("latin-1").lower().split(","):
        name, _, params = item.partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[name.strip()] = weight
    for coding in CODINGS:
        if coding in offered and weights.get(coding, weights.get("*", 0.0)) > 0:
            return coding
    return None


def compressible(content_type: bytes) -> bool:
    """Whether a body of this type shrinks when compressed (text does; images and archives do not)."""
    return content_type.split(b";")[0].strip().lower() in COMPRESSIBLE
