"""Sweeping: answers whose process is gone are finished, and questions nobody claimed in time answered."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from ..model import tokens
from ..storage import DatabaseUnavailable, Row, exchanges
from ..storage.dialects import utcnow
from .answering import Answering
from .prompt import build_messages

log = logging.getLogger(__name__)

# Unclaimed questions the sweeper takes up at each pass.
SWEEP_BATCH = 20


class Sweeper:
    """One process's sweeper (every instance runs one; each row goes to one of them)."""

    def __init__(self, answering: Answering, clock: Callable[[], float] = time.monotonic) -> None:
        self.answering = answering
        self.clock = clock
        # When the last calm pass began: the database answered it without holding it up.
        self.reached: str | None = None
        # Calm passes still to go before a lease counts again after the database failed or stalled.
        self.calming = 0

    async def keep_sweeping(self) -> None:
        """Sweep now and then, for as long as the app serves."""
        while True:
            # Jittered, so that instances started together do not sweep in step.
            await asyncio.sleep(self.answering.lease_seconds / 2 * random.uniform(0.8, 1.2))
            try:
                await self.sweep()
            except DatabaseUnavailable as error:
                log.info("sweeping waits for the database: %s", error)
            except Exception:
                log.exception("sweeping failed")

    async def sweep(self) -> None:
        """Finish the answers whose process is gone, and answer the questions nobody claimed in time.

        A lease counts as lapsed only if it had when the last calm pass began. While the
        database failed or stalled (a Galera node dying stalls its peers) nobody could renew,
        and the writers whose connection died with it renew on a new one only afterwards: so
        after a failed or held-up pass, two calm passes go by before any lease counts again.
        """
        began, started = utcnow(), self.clock()
        ended: list[Row] = []
        try:
            if self.reached is None or self.calming:
                await exchanges.status(self.answering.db, 0)  # only learns that the database answers
            else:
                ended = await self._finish_lapsed(self.reached)
        except Exception:
            self._lose_track()
            raise
        if self.clock() - started > self.answering.lease_seconds / 3:
            self._lose_track()
        else:
            self.reached, self.calming = began, max(0, self.calming - 1)
        # Outside the timed pass: the first count loads the tokenizer.
        for exchange in ended:
            await self.count_spent(exchange)

    def _lose_track(self) -> None:
        self.reached, self.calming = None, 2

    async def _finish_lapsed(self, lapsed_before: str) -> list[Row]:
        """End the lapsed answers (returned, to be counted) and answer the questions nobody claimed."""
        answering = self.answering
        if ended := await exchanges.sweep(answering.db, lapsed_before):
            log.warning("swept %d answer(s) whose process stopped renewing its lease", len(ended))
        for exchange in await exchanges.unclaimed(answering.db, lapsed_before, SWEEP_BATCH):
            if exchange["id"] in answering.runs:
                continue
            claimed = await answering.claim(exchange)
            if claimed is not None:
                log.warning("answering exchange %s, which no stream claimed in time", exchange["id"])
                answering.run(exchange, *claimed, release=lambda: None)
        return ended

    async def count_spent(self, exchange: Row) -> None:
        """Estimate what a swept answer spent (its process died before the server said): sent and written."""
        answering = self.answering
        context = await exchanges.context(answering.db, exchange["parent_id"], answering.config.context_size)
        sent = build_messages(
            exchange["instructions"] or answering.config.system_prompt, context, exchange["question"]
        )
        model = exchange["model"] or answering.config.llm_model
        prompt, completion = await asyncio.to_thread(
            lambda: (tokens.prompt(sent, model), tokens.count(exchange["answer"] or "", model))
        )
        await exchanges.estimate(answering.db, exchange["id"], prompt, completion)
