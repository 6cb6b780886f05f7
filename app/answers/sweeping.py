"""Sweeping: answers whose process is gone are finished, and questions nobody claimed in time answered."""

from __future__ import annotations

import asyncio
import logging
import random

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

    def __init__(self, answering: Answering) -> None:
        self.answering = answering
        self.reached: str | None = None  # when the last sweep found the database answering

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

        A lease counts as lapsed only if it had when this sweeper last reached the database:
        while nobody could reach it (a Galera node dying stalls its peers), nobody could renew.
        """
        answering = self.answering
        if self.reached is not None:
            if ended := await exchanges.sweep(answering.db, self.reached):
                log.warning("swept %d answer(s) whose process stopped renewing its lease", len(ended))
                for exchange in ended:
                    await self.count_spent(exchange)
            for exchange in await exchanges.unclaimed(answering.db, self.reached, SWEEP_BATCH):
                if exchange["id"] in answering.runs:
                    continue
                claimed = await answering.claim(exchange)
                if claimed is not None:
                    log.warning("answering exchange %s, which no stream claimed in time", exchange["id"])
                    answering.run(exchange, *claimed, release=lambda: None)
        else:
            await exchanges.status(answering.db, 0)  # the first sweep only learns that the database answers
        self.reached = utcnow()

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
