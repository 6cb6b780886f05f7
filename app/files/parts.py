"""Files as the model is sent them: a document's text under its name, an image as an `image_url` part."""

from __future__ import annotations

import base64
from typing import Any

from .. import messages
from ..storage import Executor, Row, attachments
from .kinds import Kind

Part = dict[str, Any]

_LABELS = {Kind.IMAGE: "image", Kind.PDF: "PDF", Kind.DOCX: "Word document", Kind.TEXT: "text"}


def label(attachment: Row) -> str:
    """What kind of file it is, in a word or two."""
    return _LABELS.get(Kind(attachment["kind"])) or str(attachment["kind"])


def note(attachment: Row) -> str:
    """How much of the file was read, when not all of it (empty otherwise)."""
    if attachment["kind"] == Kind.IMAGE:
        return ""
    if not attachment["chars"]:
        return messages.NO_TEXT_IN_FILE
    return messages.file_note(
        attachment["pages"], attachment["read_pages"], attachment["chars"], bool(attachment["cut"])
    )


def text_block(attachment: Row, room: int | None = None) -> str:
    """A document's text as the model reads it: between tags naming the file, with what was left out said."""
    name = " ".join(attachment["name"].replace('"', "'").split())
    text = attachment.get("text") or ""
    said = [note(attachment)] if note(attachment) else []
    if room is not None and len(text) > room:
        text = text[:room]
        said.append(f"Only its first {room:,} characters are included: the chat's files are longer.")
    pages = f' pages="{attachment["pages"]}"' if attachment["pages"] else ""
    lead = "".join(f"({line})\n" for line in said)
    return f'<file name="{name}" type="{label(attachment)}"{pages}>\n{lead}{text}\n</file>'


def unseen(attachment: Row) -> str:
    """An image named where the model cannot be shown it."""
    name = " ".join(attachment["name"].split())
    return f'<file name="{name}" type="image">(An image, not shown to this model.)</file>'


def image_part(attachment: Row, data: bytes) -> Part:
    """An image as an `image_url` part, its bytes in a data: URL."""
    encoded = base64.b64encode(data).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{attachment['media_type']};base64,{encoded}"}}


async def content_parts(db: Executor, attachment: Row) -> list[Part]:
    """One stored attachment as OpenAI content parts: an image's bytes (read now), or a document's text.

    `attachment` is a row of `attachments.of_exchanges(…, text=True)`.
    """
    if attachment["kind"] == Kind.IMAGE:
        return [image_part(attachment, await attachments.read_all(db, attachment["id"]))]
    return [{"type": "text", "text": text_block(attachment)}]


def user_content(question: str, blocks: list[str], images: list[Part]) -> str | list[Part]:
    """A question's content: its files' text, then the question; a list of parts when images go too."""
    text = "\n\n".join([*blocks, question]) if blocks else question
    if not images:
        return text
    return [{"type": "text", "text": text}, *images]
