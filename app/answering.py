"""One answer, start to end: claim the exchange, stream the model, store how it ended."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator

from markupsafe import escape

from .config import Config
from .llm import Model, ModelError, Usage
from .storage import Database, DatabaseUnavailable, Row, exchanges, get_spool
from .storage.exchanges import DONE, ERROR, FINISHED, INTERRUPTED, Outcome
from .storage.spool import NOTICE

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


async def claim(db: Database, exchange: Row, context_size: int) -> list[Row] | None:
    """Claim a pending exchange and read its context in one transaction; None if another request won.

    Both or neither: if the database goes away before the commit, the exchange stays
    pending and the next request for its stream answers it.
    """
    context: list[Row] | None = None
    try:
        async with db.transaction() as tx:
            if not await exchanges.claim(tx, exchange["id"]):
                return None
            context = await exchanges.context(tx, exchange["conversation_id"], exchange["id"], context_size)
    except DatabaseUnavailable:
        if context is None:
            raise
        # Only the commit's reply was lost, so the claim may have landed: answering anyway
        # (the outcome is written by id) beats leaving the exchange claimed by no one.
        log.warning("claim of exchange %s may or may not have been committed; answering it", exchange["id"])
    return context


async def answer(model: Model, config: Config, exchange: Row, context: list[Row]) -> AsyncIterator[str]:
    """Yield escaped text batches of a claimed exchange's answer, storing the outcome when it ends.

    No database connection is held while the model streams. The outcome is written even
    when the consumer goes away mid-answer (the partial answer is kept as interrupted),
    and spooled locally if the database cannot take it.
    """
    messages = build_messages(config.system_prompt, context, exchange["question"])
    usage = Usage()
    parts: list[str] = []
    pending: list[str] = []
    wake = asyncio.Event()

    async def produce() -> None:
        try:
            async for text in model.stream(messages, usage):
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
        await asyncio.shield(_wrap_up(exchange["id"], producer, outcome, started))


async def _wrap_up(exchange_id: int, producer: asyncio.Task[None], outcome: Outcome, started: float) -> None:
    if not producer.done():
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
    outcome.latency_ms = round((time.perf_counter() - started) * 1000)
    stored = await get_spool().finish(exchange_id, outcome)
    log.info(
        "answer %s %s model=%s tokens=%s/%s latency_ms=%s%s",
        exchange_id, outcome.status, outcome.model,
        outcome.prompt_tokens, outcome.completion_tokens, outcome.latency_ms,
        "" if stored else " (spooled: database unavailable)",
    )


async def finished_exchange(db: Database, exchange_id: int, owner: str) -> Row | None:
    """The exchange as its answer ended: from the database, or from the spool while the database is away."""
    held = get_spool().take_held(exchange_id)
    if held is None:
        return await exchanges.get(db, exchange_id, owner)
    return {"id": exchange_id, **dataclasses.asdict(held), "notice": NOTICE}


async def wait_until_finished(db: Database, exchange: Row, owner: str) -> Row:
    """Wait for an answer another request is streaming, then return the finished exchange."""
    while exchange["status"] not in FINISHED:
        await asyncio.sleep(WAIT_POLL_SECONDS)
        exchange = await exchanges.get(db, exchange["id"], owner) or exchange
    return exchange
