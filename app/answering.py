"""One answer, start to end: claim the exchange, stream the model, store how it ended."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from markupsafe import escape

from . import metrics
from .config import Config
from .llm import Model, ModelError, Usage
from .storage import Database, Row, exchanges
from .storage.exchanges import DONE, ERROR, FINISHED, INTERRUPTED, Outcome

log = logging.getLogger(__name__)

# Text reaches the browser in batches: often enough to look live, rarely enough
# that a fast model does not cost one browser event per token.
BATCH_SECONDS = 0.04
WAIT_POLL_SECONDS = 0.5


def build_messages(system_prompt: str, context: list[Row], question: str) -> list[dict[str, str]]:
    """Lay out the system prompt, earlier exchanges and the new question for the model."""
    messages = [{"role": "system", "content": system_prompt}]
    for earlier in context:
        messages.append({"role": "user", "content": earlier["question"]})
        messages.append({"role": "assistant", "content": earlier["answer"]})
    messages.append({"role": "user", "content": question})
    return messages


async def answer(db: Database, model: Model, config: Config, exchange: Row) -> AsyncIterator[str]:
    """Yield escaped text batches of a new answer, storing the outcome when it ends.

    The caller must have claimed the exchange. The outcome is written even when the
    consumer goes away mid-answer: then the partial answer is kept as interrupted.
    """
    context = await exchanges.context(db, exchange["conversation_id"], exchange["id"], config.context_size)
    messages = build_messages(config.system_prompt, context, exchange["question"])
    usage = Usage()
    parts: list[str] = []
    pending: list[str] = []
    wake = asyncio.Event()

    async def produce() -> None:
        try:
            async for text in model.stream(messages, usage):
                if not parts:
                    metrics.first_token_seconds.observe(time.perf_counter() - started)
                parts.append(text)
                pending.append(text)
                wake.set()
        finally:
            wake.set()

    started = time.perf_counter()
    producer = asyncio.create_task(produce())
    status, error = INTERRUPTED, None
    try:
        while True:
            await wake.wait()
            wake.clear()
            if pending:
                text = "".join(pending)
                pending.clear()
                yield str(escape(text))
            if producer.done():
                break
            await asyncio.sleep(BATCH_SECONDS)
        failure = producer.exception()
        if failure is None:
            status = DONE
        elif isinstance(failure, ModelError):
            status, error = ERROR, str(failure)
        else:
            log.error("answer %s failed", exchange["id"], exc_info=failure)
            status, error = ERROR, "Something went wrong while answering. Try again."
    finally:
        outcome = Outcome(
            answer="".join(parts),
            status=status,
            model=model.name,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            error=error,
        )
        # Shielded: a browser that leaves cancels this task, but the outcome must land.
        await asyncio.shield(_wrap_up(db, exchange["id"], producer, outcome, started))


async def _wrap_up(db: Database, exchange_id: int, producer: asyncio.Task[None], outcome: Outcome, started: float) -> None:
    if not producer.done():
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
    outcome.latency_ms = round((time.perf_counter() - started) * 1000)
    metrics.count_answer(outcome)
    await exchanges.finish(db, exchange_id, outcome)
    log.info(
        "answer",
        extra={"exchange_id": exchange_id, "status": outcome.status, "model": outcome.model,
               "prompt_tokens": outcome.prompt_tokens, "completion_tokens": outcome.completion_tokens,
               "latency_ms": outcome.latency_ms},
    )


async def wait_until_finished(db: Database, exchange: Row, owner: str) -> Row:
    """Wait for an answer another request is streaming, then return the finished exchange."""
    while exchange["status"] not in FINISHED:
        await asyncio.sleep(WAIT_POLL_SECONDS)
        exchange = await exchanges.get(db, exchange["id"], owner) or exchange
    return exchange
