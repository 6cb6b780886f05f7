"""One answer being written: the model streamed into it, its text saved as it grows, its outcome stored."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from .. import messages, metrics
from ..model import Model, ModelError, Usage, tokens
from ..storage import Database, Row, Spool, exchanges
from ..storage.dialects import utc_in
from ..storage.exchanges import Outcome
from ..storage.status import Status

log = logging.getLogger(__name__)

# Text reaches the browser in batches: often enough to look live, rarely enough
# that a fast model does not cost one browser event per token. Past BUSY_RUNS
# answers at once the batches grow with the load (each costs a write to the
# socket and a swap in the browser), up to two a second, so that the work per
# answer stays flat however many stream.
BATCH_SECONDS = 0.05
BUSY_BATCH_SECONDS = 0.5
BUSY_RUNS = 50
# When the CPU is saturated the streams' wake-ups run late; then batches widen to four times
# that lateness, up to this. A stream's first words still go out at once: the time goes to
# visitors who are waiting for theirs, not to one more batch of an answer already on screen.
LATE_BATCHES = 4.0
SATURATED_BATCH_SECONDS = 2.0
# How much each wake-up moves the smoothed lateness.
LATENESS_WEIGHT = 0.05
# How often a running answer is saved, and a stop asked through another process noticed.
SAVE_SECONDS = 1.0

# What the model is sent, or how to read it (files are read from the database as the answer starts).
Sent = list[dict[str, Any]] | Callable[[], Awaitable[list[dict[str, Any]]]]


def batch_seconds(running: int, late: float = 0.0) -> float:
    """How long a stream gathers text before sending it, given how many answers run here and how late
    the process's wake-ups run (seconds, smoothed)."""
    window = min(BATCH_SECONDS * max(1.0, running / BUSY_RUNS), BUSY_BATCH_SECONDS)
    return max(window, min(LATE_BATCHES * late, SATURATED_BATCH_SECONDS))


class Lateness:
    """How late this process's streams wake from their batches' sleep, smoothed: how saturated its CPU is."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def note(self, late: float) -> None:
        """Add one wake-up that came `late` seconds after it was due."""
        self.seconds += (max(late, 0.0) - self.seconds) * LATENESS_WEIGHT


# One per process: every stream's wake-ups tell how busy the event loop is.
lateness = Lateness()


class Run:
    """An answer being written in this process: its text so far, and who waits for more."""

    def __init__(self, exchange_id: int, registry: dict[int, Run], token: str, lease_seconds: float) -> None:
        self.exchange_id = exchange_id
        # The answers running beside this one: how busy the process is.
        self.registry = registry
        # The lease this run holds on its exchange, renewed at every save.
        self.token = token
        self.lease_seconds = lease_seconds
        # How the answer ended, once stored (or spooled); what the model reported besides the text,
        # and why it failed, if it did.
        self.outcome: Outcome | None = None
        self.usage = Usage()
        self.failure: BaseException | None = None
        # Whether any text came yet; the pieces not yet joined into the text (joined once, then let go).
        self.begun = False
        self._pieces: list[str] = []
        self.finished = False
        self.halt: Status | None = None
        self.task: asyncio.Task[None] | None = None
        self._text = ""
        self._changed = asyncio.Event()
        # The messages the model was sent, once read (a question's files are read as it starts).
        self.sent: list[dict[str, Any]] = []
        self.halted = asyncio.Event()

    def text(self) -> str:
        """The answer so far (the new pieces joined once, not once per reader)."""
        if self._pieces:
            self._text += "".join(self._pieces)
            self._pieces.clear()
        return self._text

    def add(self, text: str) -> None:
        """Append a piece of the answer and wake the readers."""
        self._pieces.append(text)
        self.begun = True
        # Setting an event already set costs nothing: most tokens arrive while readers sleep.
        self._changed.set()

    def stop(self, status: Status = Status.STOPPED) -> None:
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

    def end(self) -> None:
        """Mark the answer stored and wake every reader one last time."""
        self.finished = True
        self._changed.set()

    def pace(self) -> float:
        """How long a busy process lets tokens gather for one browser batch before reading them."""
        if not self.begun:
            # Until the first words: the reply's head and role chunk come first, and its first
            # words must not wait a batch behind them.
            return 0.0
        running = len(self.registry)
        return batch_seconds(running, lateness.seconds) if running > BUSY_RUNS else 0.0

    async def write(
        self,
        db: Database,
        spool: Spool,
        model: Model,
        exchange: Row,
        sent: Sent,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        """Stream the model into this run, saving as it goes, and store how the answer ended.

        No database connection is held while the model streams; the outcome is spooled
        locally if the database cannot take it when the answer ends. `options` are further
        fields of the model request (an API call's tools, stop, max_tokens).
        """
        usage = self.usage
        started = time.perf_counter()
        name = exchange["model"] or model.name
        producer = asyncio.create_task(
            self._produce(model, sent, usage, started, name, exchange["temperature"], options)
        )
        halted = asyncio.create_task(self.halted.wait())
        status, error = Status.INTERRUPTED, None
        saved = 0
        try:
            while not producer.done() and self.halt is None:
                await asyncio.wait(
                    {producer, halted}, timeout=self._save_every(), return_when=asyncio.FIRST_COMPLETED
                )
                if producer.done() or self.halt is not None:
                    break
                text = self.text()
                if (ending := await self._renew(db, text if len(text) > saved else None)) is not None:
                    self.stop(ending)
                saved = len(text)
            if self.halt is not None:
                status = self.halt
            elif (failure := producer.exception()) is None:
                status = Status.DONE
            elif isinstance(failure, ModelError):
                status, error, self.failure = Status.ERROR, str(failure), failure
            else:
                self.failure = failure
                log.error("answer %s failed", exchange["id"], exc_info=failure)
                status, error = Status.ERROR, messages.UNEXPECTED_IN_ANSWER
        finally:
            halted.cancel()
            outcome = Outcome(
                answer=self.text(),
                status=status,
                model=name,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                error=error,
                tool_calls=orjson.dumps(usage.tool_calls).decode() if usage.tool_calls else None,
            )
            # Shielded: the outcome must land even if this task is cancelled.
            event = exchanges.finished_event(exchange)
            await asyncio.shield(self._wrap_up(spool, producer, outcome, started, self.sent, event))

    async def _produce(
        self,
        model: Model,
        sent: Sent,
        usage: Usage,
        started: float,
        name: str,
        temperature: float | None,
        options: Mapping[str, Any] | None,
    ) -> None:
        messages = self.sent = await sent() if callable(sent) else sent
        # Only an API call has options: a chat's answer asks any model as it always did.
        extra = {"options": options} if options else {}
        async for text in model.stream(messages, usage, self.pace, name, temperature, **extra):
            if not self.begun:
                metrics.first_token_seconds.observe(time.perf_counter() - started)
            self.add(text)

    def _save_every(self) -> float:
        """Seconds between saves: about one a second, rarer under load, always well within the lease."""
        return min(SAVE_SECONDS * batch_seconds(len(self.registry)) / BATCH_SECONDS, self.lease_seconds / 3)

    async def _renew(self, db: Database, text: str | None) -> Status | None:
        """Renew the lease, saving the text if it grew; the status to end with when the answer is not ours."""
        try:
            for _ in range(2):
                asked, until = time.monotonic(), utc_in(self.lease_seconds)
                if not await exchanges.renew(db, self.exchange_id, self.token, until, text):
                    break
                # A renewal held up by a stalled database lands with its lease nearly spent: again.
                if time.monotonic() - asked < self.lease_seconds / 3:
                    return None
                text = None
            else:
                return None
            # A stop asked through another process, or a sweeper that took the answer for lost.
            return (
                Status.STOPPED
                if await exchanges.status(db, self.exchange_id) == Status.STOPPING
                else Status.INTERRUPTED
            )
        except Exception:
            # A database hiccup must not cut the answer; the outcome is written at the end.
            log.warning("answer %s: could not save the text so far", self.exchange_id, exc_info=True)
            return None

    async def _wrap_up(
        self,
        spool: Spool,
        producer: asyncio.Task[None],
        outcome: Outcome,
        started: float,
        sent: list[dict[str, Any]],
        event: dict[str, Any],
    ) -> None:
        if not producer.done():
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)
        outcome.latency_ms = round((time.perf_counter() - started) * 1000)
        if outcome.prompt_tokens is None or outcome.completion_tokens is None:
            await count_unreported(outcome, sent)
        metrics.count_answer(
            outcome.status, outcome.latency_ms, outcome.prompt_tokens, outcome.completion_tokens
        )
        stored = await spool.finish(self.exchange_id, outcome, self.token, event)
        self.outcome = outcome
        log.info(
            "answer",
            extra={
                "exchange_id": self.exchange_id,
                "status": outcome.status,
                "model": outcome.model,
                "prompt_tokens": outcome.prompt_tokens,
                "completion_tokens": outcome.completion_tokens,
                "latency_ms": outcome.latency_ms,
                "spooled": not stored,
            },
        )


async def count_unreported(outcome: Outcome, sent: list[dict[str, Any]]) -> None:
    """Count the tokens the server did not report (a stopped or cut answer), marking the count estimated.

    An answer that failed before its first word was refused by the server: it spent nothing.
    """
    if outcome.status == Status.ERROR and not outcome.answer:
        return
    # Off the event loop: the first count loads the tokenizer, and a long answer takes a while.
    prompt, completion = await asyncio.to_thread(
        lambda: (tokens.prompt(sent, outcome.model), tokens.count(outcome.answer, outcome.model))
    )
    if outcome.prompt_tokens is None:
        outcome.prompt_tokens = prompt
    if outcome.completion_tokens is None:
        outcome.completion_tokens = completion
    outcome.estimated = True
