"""One answer, start to end: claim the exchange, run the model, let any number of streams follow it.

An answer runs as a task of its own, not as part of the request that started it: a
browser that reloads or loses its connection mid-answer loses nothing, and the next
stream request picks the answer back up. The text so far is stored about once a
second, so a stream served by another process can follow it from the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator

from quart import Quart, current_app

from . import metrics
from .config import Config
from .llm import Model, ModelError, Usage
from .storage import Database, DatabaseUnavailable, Row, exchanges, get_spool
from .storage.exchanges import DONE, ERROR, FINISHED, INTERRUPTED, STOPPED, STREAMING, Outcome
from .storage.spool import NOTICE, Spool

log = logging.getLogger(__name__)

# Text reaches the browser in batches: often enough to look live, rarely enough
# that a fast model does not cost one browser event per token. Past BUSY_RUNS
# answers at once the batches grow with the load (each costs a write to the
# socket and a swap in the browser), up to four a second, so that the work per
# answer stays flat however many stream.
BATCH_SECONDS = 0.05
BUSY_BATCH_SECONDS = 0.25
BUSY_RUNS = 50
# How often a running answer is saved, and a stop asked through another process noticed.
SAVE_SECONDS = 1.0
# How often a stream whose answer runs in another process reads it from the database.
POLL_SECONDS = 0.5
SHUTDOWN_SECONDS = 5.0


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


class Run:
    """An answer being written in this process: its text so far, and who waits for more."""

    def __init__(self, exchange_id: int, registry: dict[int, Run]) -> None:
        self.exchange_id = exchange_id
        # The answers running beside this one: how busy the process is.
        self.registry = registry
        self.parts: list[str] = []
        self.finished = False
        self.halt: str | None = None
        self.task: asyncio.Task[None] | None = None
        self._text = ""
        self._joined = 0
        self._changed = asyncio.Event()
        self.halted = asyncio.Event()

    def text(self) -> str:
        """The answer so far (joined once per new part, not once per reader)."""
        if self._joined < len(self.parts):
            self._text += "".join(self.parts[self._joined:])
            self._joined = len(self.parts)
        return self._text

    def add(self, text: str) -> None:
        """Append a piece of the answer and wake the readers."""
        self.parts.append(text)
        self._wake()

    def stop(self, status: str = STOPPED) -> None:
        """End the answer early with this status; the text so far is kept."""
        if self.halt is None:
            self.halt = status
            self.halted.set()

    @property
    def changed(self) -> asyncio.Event:
        """An event set when more text arrives or the answer ends (take it before reading the text)."""
        if self._changed.is_set():
            self._changed = asyncio.Event()
        return self._changed

    def _wake(self) -> None:
        # Setting an event already set costs nothing: most tokens arrive while readers sleep.
        self._changed.set()

    def end(self) -> None:
        """Mark the answer stored and wake every reader one last time."""
        self.finished = True
        self._wake()


def batch_seconds(running: int) -> float:
    """How long a stream gathers text before sending it, given how many answers run here."""
    return min(BATCH_SECONDS * max(1.0, running / BUSY_RUNS), BUSY_BATCH_SECONDS)


def runs(app: Quart | None = None) -> dict[int, Run]:
    """The answers running in this process, by exchange id."""
    return (app or current_app).extensions["runs"]


def start(db: Database, model: Model, config: Config, exchange: Row, context: list[Row]) -> Run:
    """Run the answer of an exchange the caller has claimed (with its context), in a task of its own."""
    active = runs()
    spool = get_spool()
    run = Run(exchange["id"], active)
    active[run.exchange_id] = run

    async def go() -> None:
        try:
            await _answer(db, spool, model, config, exchange, context, run)
        except Exception:
            log.exception("answer %s could not run", run.exchange_id)
        finally:
            active.pop(run.exchange_id, None)
            run.end()

    run.task = asyncio.get_running_loop().create_task(go(), name=f"answer-{run.exchange_id}")
    return run


async def _answer(
    db: Database, spool: Spool, model: Model, config: Config, exchange: Row, context: list[Row], run: Run
) -> None:
    """Stream the model into the run, saving as it goes, and store how the answer ended.

    No database connection is held while the model streams; the outcome is spooled
    locally if the database cannot take it when the answer ends.
    """
    messages = build_messages(config.system_prompt, context, exchange["question"])
    usage = Usage()

    def pace() -> float:
        # A busy process lets tokens gather for one browser batch before reading them.
        running = len(run.registry)
        return batch_seconds(running) if running > BUSY_RUNS else 0.0

    async def produce() -> None:
        async for text in model.stream(messages, usage, pace):
            if not run.parts:
                metrics.first_token_seconds.observe(time.perf_counter() - started)
            run.add(text)

    started = time.perf_counter()
    producer = asyncio.create_task(produce())
    halted = asyncio.create_task(run.halted.wait())
    status, error = INTERRUPTED, None
    saved = 0
    try:
        while not producer.done() and run.halt is None:
            await asyncio.wait(
                {producer, halted}, timeout=SAVE_SECONDS * batch_seconds(len(run.registry)) / BATCH_SECONDS,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if producer.done() or run.halt is not None:
                break
            text = run.text()
            if not await _save(db, exchange["id"], text, saved):
                run.stop()
            saved = len(text)
        if run.halt is not None:
            status = run.halt
        elif (failure := producer.exception()) is None:
            status = DONE
        elif isinstance(failure, ModelError):
            status, error = ERROR, str(failure)
        else:
            log.error("answer %s failed", exchange["id"], exc_info=failure)
            status, error = ERROR, "Something went wrong while answering. Try again."
    finally:
        halted.cancel()
        outcome = Outcome(
            answer=run.text(),
            status=status,
            model=model.name,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            error=error,
        )
        # Shielded: the outcome must land even if this task is cancelled.
        await asyncio.shield(_wrap_up(spool, exchange["id"], producer, outcome, started))


async def _save(db: Database, exchange_id: int, text: str, saved: int) -> bool:
    """Save the text so far if it grew; say whether the answer may go on (nobody asked to stop it)."""
    try:
        if len(text) > saved:
            return await exchanges.save_partial(db, exchange_id, text)
        return await exchanges.status(db, exchange_id) == STREAMING
    except Exception:
        # A database hiccup must not cut the answer; the outcome is written at the end.
        log.warning("answer %s: could not save the text so far", exchange_id, exc_info=True)
        return True


async def _wrap_up(
    spool: Spool, exchange_id: int, producer: asyncio.Task[None], outcome: Outcome, started: float
) -> None:
    if not producer.done():
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
    outcome.latency_ms = round((time.perf_counter() - started) * 1000)
    metrics.count_answer(outcome)
    stored = await spool.finish(exchange_id, outcome)
    log.info(
        "answer",
        extra={"exchange_id": exchange_id, "status": outcome.status, "model": outcome.model,
               "prompt_tokens": outcome.prompt_tokens, "completion_tokens": outcome.completion_tokens,
               "latency_ms": outcome.latency_ms, "spooled": not stored},
    )


async def finished_exchange(db: Database, exchange_id: int, owner: str) -> Row | None:
    """The exchange as its answer ended: from the database, or from the spool while the database is away."""
    held = get_spool().take_held(exchange_id)
    if held is None:
        return await exchanges.get(db, exchange_id, owner)
    return {"id": exchange_id, **dataclasses.asdict(held), "notice": NOTICE}


async def follow(db: Database, exchange_id: int, offset: int) -> AsyncIterator[tuple[str, int]]:
    """Yield the answer's new text after `offset` characters, with the offset it reaches, until it ends.

    An answer running in this process is followed as it arrives; one running elsewhere
    is read from the database, where its text so far is saved about once a second.
    """
    run = runs().get(exchange_id)
    if run is not None:
        while True:
            changed = run.changed
            text = run.text()
            if len(text) > offset:
                yield text[offset:], len(text)
                offset = len(text)
                # Throttle after sending, not before: the first words go out at once.
                await asyncio.sleep(batch_seconds(len(run.registry)))
                continue
            if run.finished:
                return
            await changed.wait()
    row = await exchanges.progress(db, exchange_id)
    # An answer finished before this stream began is sent whole as final HTML, not as text.
    if row is None or row["status"] in FINISHED:
        return
    while row is not None:
        text = row["answer"] or ""
        if len(text) > offset:
            yield text[offset:], len(text)
            offset = len(text)
        if row["status"] in FINISHED:
            return
        await asyncio.sleep(POLL_SECONDS)
        row = await exchanges.progress(db, exchange_id)


def init_app(app: Quart) -> None:
    """Keep the registry of running answers; at shutdown, end them as interrupted and store them."""
    app.extensions["runs"] = {}

    @app.after_serving
    async def interrupt_runs() -> None:
        active = list(app.extensions["runs"].values())
        for run in active:
            run.stop(INTERRUPTED)
        tasks = [run.task for run in active if run.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
