"""What the model is sent: the instructions, the conversation so far, the new question, and their files."""

from __future__ import annotations

from typing import Any

from ..files import parts
from ..model import tokens
from ..storage import Executor, Row, attachments

Message = dict[str, Any]
# Images sent with one question, the newest first (the question's own, then earlier ones).
MAX_IMAGES = 10


def build_messages(system_prompt: str, context: list[Row], question: str) -> list[Message]:
    """Lay out the system prompt, earlier exchanges and the new question for the model."""
    messages: list[Message] = [{"role": "system", "content": system_prompt}]
    for earlier in context:
        messages.append({"role": "user", "content": earlier["question"]})
        messages.append({"role": "assistant", "content": earlier["answer"]})
    messages.append({"role": "user", "content": question})
    return messages


def within_tokens(context: list[Row], budget: int) -> list[Row]:
    """The newest exchanges of a context whose text fits in `budget` tokens (estimated; 0: no limit)."""
    if budget <= 0:
        return context
    kept: list[Row] = []
    for earlier in reversed(context):
        budget -= (len(earlier["question"] or "") + len(earlier["answer"] or "")) // tokens.CHARS_PER_TOKEN
        if budget < 0:
            break
        kept.append(earlier)
    kept.reverse()
    return kept


async def read_files(db: Executor, context: list[Row], exchange: Row) -> None:
    """Give the question and each exchange of its context the files it was asked with (text, not bytes)."""
    found = await attachments.of_exchanges(db, [row["id"] for row in context] + [exchange["id"]], text=True)
    for row in (*context, exchange):
        row["files"] = found.get(row["id"], [])


async def with_files(
    db: Executor, system_prompt: str, context: list[Row], exchange: Row, sees: bool, budget: int
) -> list[Message]:
    """The messages, each question with its files (`read_files`): text under their names, images as parts.

    The newest files come first within `budget` characters of text (older ones are cut or
    named only), and images only when the model sees them (their bytes are read now).
    """
    asked = [row["id"] for row in context] + [exchange["id"]]
    found = {row["id"]: row.get("files") or [] for row in (*context, exchange)}
    if not any(found.values()):
        return build_messages(system_prompt, context, exchange["question"])
    left, images_left = budget, MAX_IMAGES
    contents: dict[int, tuple[list[str], list[parts.Part]]] = {}
    for exchange_id in reversed(asked):
        blocks: list[str] = []
        images: list[parts.Part] = []
        for file in found.get(exchange_id, []):
            if file["kind"] == "image":
                if sees and images_left > 0:
                    images += await parts.content_parts(db, file)
                    images_left -= 1
                else:
                    blocks.append(parts.unseen(file))
                continue
            text = file["text"] or ""
            blocks.append(parts.text_block(file, room=left if len(text) > left else None))
            left = max(left - len(text), 0)
        contents[exchange_id] = (blocks, images)
    messages: list[Message] = [{"role": "system", "content": system_prompt}]
    for earlier in context:
        content = parts.user_content(earlier["question"], *contents.get(earlier["id"], ([], [])))
        messages.append({"role": "user", "content": content})
        messages.append({"role": "assistant", "content": earlier["answer"]})
    content = parts.user_content(exchange["question"], *contents[exchange["id"]])
    messages.append({"role": "user", "content": content})
    return messages
