"""What a file is, told from its first bytes (never its name or declared type), and its name made safe."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

# How many of a file's first bytes are read to tell its kind.
HEAD_BYTES = 8192
NAME_CHARS = 255
# A PDF's header may follow some bytes of junk; readers look this far for it.
PDF_HEADER_WITHIN = 1024


class Kind(StrEnum):
    """The kinds of file the app reads."""

    IMAGE = "image"
    PDF = "pdf"
    DOCX = "docx"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class Sniffed:
    """A file's kind and the media type it is served as."""

    kind: Kind
    media_type: str
    label: str


PNG = Sniffed(Kind.IMAGE, "image/png", "PNG image")
JPEG = Sniffed(Kind.IMAGE, "image/jpeg", "JPEG image")
GIF = Sniffed(Kind.IMAGE, "image/gif", "GIF image")
WEBP = Sniffed(Kind.IMAGE, "image/webp", "WebP image")
PDF = Sniffed(Kind.PDF, "application/pdf", "PDF")
DOCX = Sniffed(
    Kind.DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word document"
)
TEXT = Sniffed(Kind.TEXT, "text/plain; charset=utf-8", "text")

# Bytes that never appear in text: NUL, and controls but tab, line feed, form feed and carriage return.
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_UNSAFE_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def sniff(head: bytes) -> Sniffed | None:
    """The kind a file's first bytes show, or None when it is none the app reads (or empty)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if b"%PDF-" in head[:PDF_HEADER_WITHIN]:
        return PDF
    if head.startswith(b"PK\x03\x04"):
        # A zip: its reader checks that it holds a Word document, and refuses any other.
        return DOCX
    if head and text_encoding(head) is not None:
        return TEXT
    return None


def text_encoding(head: bytes) -> str | None:
    """The encoding of text that starts so: UTF-8, UTF-16 with its mark, or Windows-1252 (None: not text)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if _BINARY.search(head):
        return None
    try:
        # The head may end inside a character: a few bytes short of it must decode.
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3 and error.reason == "unexpected end of data":
            return "utf-8"
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:
        return None
    return "cp1252"


def clean_name(raw: str | None, fallback: str = "file") -> str:
    """A file's name as kept: without controls or direction marks, composed, at most NAME_CHARS long.

    Only ever shown escaped and sent in a quoted header, never used as a path: a name
    such as `../../etc/passwd` is kept as typed, as text.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = _UNSAFE_IN_NAMES.sub("", name).strip()
    if not name:
        return fallback
    if len(name) > NAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        tail = f"{dot}{extension}" if dot and len(extension) <= 10 else ""
        name = name[: NAME_CHARS - len(tail) - 1] + "…" + tail
    return name


def download_name(name: str) -> str:
    """The last part of a name, as a browser would save it (no folders, no quotes)."""
    last = re.split(r"[\\/]", name)[-1].strip(". ")
    return last.replace('"', "'") or "file"
