"""What the model is sent: the instructions, the conversation so far, the new question."""

from __future__ import annotations

from ..storage import Row


def build_messages(system_prompt: str, context: list[Row], question: str) -> list[dict[str, str]]:
    """Lay out the system prompt, earlier exchanges and the new question for the model."""
    messages = [{"role": "system", "content": system_prompt}]
    for earlier in context:
        messages.append({"role": "user", "content": earlier["question"]})
        messages.append({"role": "assistant", "content": earlier["answer"]})
    messages.append({"role": "user", "content": question})
    return messages
