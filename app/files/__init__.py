"""Files in a question: told apart by their bytes, read into text or images for the model, kept.

kinds.py tells a file's kind from its first bytes; images.py makes an image ready for the
model (Pillow, in a thread); documents.py reads a PDF's or a Word document's text in a
child process with limits (reader.py); receiving.py checks, reads and stores a question's
files, all or none; parts.py turns stored files into what the model is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from fnmatch import fnmatchcase

from quart import Quart

from .parts import content_parts
from .receiving import Refused, Upload, keep_sweeping, receive, uploads_in

__all__ = ["Refused", "Upload", "content_parts", "init_app", "receive", "sees_images", "uploads_in"]


def init_app(app: Quart) -> None:
    """While the app serves, now and then delete files whose question never landed (after storage)."""

    @app.while_serving
    async def sweeping() -> AsyncGenerator[None]:
        task = asyncio.create_task(keep_sweeping(app.extensions["db"]), name="files-sweeper")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def sees_images(patterns: tuple[str, ...], model: str | None, server: str | None = None) -> bool:
    """Whether VISION_MODELS names this model (`gpt-4o*`, or `llava*@ollama` for one server's).

    A pattern starting with `!` names models that do not see images, whatever the others say.
    """
    if not model:
        return False
    names = (model.lower(), f"{model}@{server}".lower() if server else model.lower())
    if any(
        fnmatchcase(name, pattern[1:].lower())
        for pattern in patterns
        if pattern.startswith("!")
        for name in names
    ):
        return False
    return any(fnmatchcase(name, pattern.lower()) for pattern in patterns for name in names)
