"""The answers being written in this process: each claimed under a lease, run in a client's place, stoppable.

An answer runs as a task of its own, not as part of the request that started it: a
browser that reloads or loses its connection mid-answer loses nothing, and the next
stream request picks the answer back up. Its text so far is saved about once a
second, so a stream served by another process can follow it from the database.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from .. import messages
from ..config import Config
from ..files import sees_images
from ..model.catalog import Catalog
from ..storage import CommitUnknown, Database, DatabaseUnavailable, Executor, Row, Spool, exchanges, quotas
from ..storage.dialects import utc_in
from ..storage.status import FINISHED, Status
from .places import Places
from .prompt import Message, read_files, with_files, within_tokens
from .refusals import Busy, NotFound
from .run import BATCH_SECONDS, Run, Sent

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 5.0
# Finished answers kept in memory, to show when the database cannot be read at the very end of a stream.
ENDED_KEPT = 1024


class Answering:
    """Every answer of one app process, over its database, spool and models."""

    def __init__(self, db: Database, spool: Spool, catalog: Catalog, config: Config) -> None:
        self.db = db
        self.spool = spool
        self.catalog = catalog
        self.config = config
        self.runs: dict[int, Run] = {}
        # Pending exchanges a stream of this process is claiming: the other streams follow them.
        self.claiming: set[int] = set()
        self.places = Places(config.max_streams_per_client)
        self.lease_seconds = config.answer_lease_seconds
        self.ended: OrderedDict[int, Row] = OrderedDict()

    def reconfigure(self, config: Config) -> None:
        """Answer from now on with new settings: new questions see them; answers running keep their client."""
        self.catalog = Catalog(config, previous=self.catalog)
        self.config = config
        self.places.limit = config.max_streams_per_client

    async def get(self, owner: str, exchange_id: int) -> Row:
        """The owner's exchange; NotFound when it is not theirs or does not exist."""
        exchange = await exchanges.get(self.db, exchange_id, owner)
        if exchange is None:
            raise NotFound(messages.NOT_YOUR_ANSWER)
        return exchange

    async def start(self, exchange: Row, client: Hashable) -> None:
        """Claim a pending exchange and start its answer in one of the client's places.

        The place is taken before the claim's first await and held by the answer until it
        is stored, so answers started at once cannot pass the limit, nor a closed stream
        free it. Busy when every place is taken and nobody else started the answer meanwhile.
        """
        if exchange["id"] in self.runs or exchange["id"] in self.claiming:
            return  # started here already, or being started by another stream: followed, not started twice
        if not self.places.take(client):
            if await exchanges.status(self.db, exchange["id"]) == Status.PENDING:
                raise Busy(messages.STREAMS_FULL)
            return
        self.claiming.add(exchange["id"])
        try:
            claimed = await self.claim(exchange)
        except BaseException:
            self.places.release(client)
            raise
        finally:
            self.claiming.discard(exchange["id"])
        if claimed is None:
            self.places.release(client)  # another request claimed it first and answers it
            return
        self.run(exchange, *claimed, release=lambda: self.places.release(client))

    async def answer_in_full(self, exchange: Row, client: Hashable) -> None:
        """Answer without a browser stream (for visitors without JavaScript), waiting for the end."""
        await self.start(exchange, client)
        run = self.runs.get(exchange["id"])
        if run is not None and run.task is not None:
            # Shielded: a visitor who gives up waiting does not cancel the answer.
            await asyncio.shield(run.task)

    async def stop(self, owner: str, exchange_id: int) -> None:
        """Stop an answer being written; the text so far stays, with the status `stopped`."""
        await self.get(owner, exchange_id)
        if run := self.runs.get(exchange_id):
            run.stop()
        await exchanges.request_stop(self.db, exchange_id, owner)

    async def stop_all(self, owner: str) -> None:
        """Stop every answer of the owner: at once here, within a save's interval on other instances."""
        for exchange_id in await quotas.live_ids(self.db, owner):
            if run := self.runs.get(exchange_id):
                run.stop()
            await exchanges.request_stop(self.db, exchange_id, owner)

    async def settle(self, exchange_id: int, within: float) -> None:
        """Wait up to `within` seconds for an answer to be stored as finished."""
        try:
            async with asyncio.timeout(within):
                while await exchanges.status(self.db, exchange_id) not in FINISHED:
                    await asyncio.sleep(BATCH_SECONDS)
        except TimeoutError:
            pass

    async def claim(self, exchange: Row) -> tuple[list[Row], str] | None:
        """Claim a pending exchange under a new lease and read its context; None if another claimant won.

        Both or neither, in one transaction. When the commit's reply is lost the claim is
        settled by reading who holds the lease, never by guessing; if even that cannot be
        read yet, the answer starts on the claim's own context and its first save settles
        it (a run whose claim did not land matches no row, stops, and writes nothing).
        The files of the context and of the question (their text) are read in the same
        transaction: an answer needs the database again only for the bytes of its images.
        """
        token = secrets.token_hex(12)
        read: list[list[Row] | None] = []

        async def claim(tx: Executor) -> list[Row] | None:
            context = None
            if await exchanges.claim(tx, exchange["id"], token, utc_in(self.lease_seconds)):
                context = await exchanges.context(tx, exchange["parent_id"], self.config.context_size)
                context = within_tokens(context, self.config.context_tokens)
                await read_files(tx, context, exchange)
            read.append(context)
            return context

        try:
            context = await self.db.transact(claim)
        except CommitUnknown:
            context = read[-1] if read else None
            try:
                if await exchanges.holder(self.db, exchange["id"]) != token:
                    return None
            except DatabaseUnavailable:
                log.warning("claim of exchange %s unsettled; its first save will tell", exchange["id"])
        return None if context is None else (context, token)

    def run(self, exchange: Row, context: list[Row], token: str, release: Callable[[], None]) -> Run:
        """Write a claimed exchange's answer as a task of its own; `release` frees its place at the end."""
        system = exchange["instructions"] or self.config.system_prompt
        sees = sees_images(self.config.vision_models, exchange["model"], exchange["server"])

        async def sent() -> list[Message]:
            return await with_files(self.db, system, context, exchange, sees, self.config.files_context_chars)

        return self.launch(exchange, sent, token, release)

    def launch(
        self,
        exchange: Row,
        sent: Sent,
        token: str,
        release: Callable[[], None],
        options: Mapping[str, Any] | None = None,
    ) -> Run:
        """Write a claimed exchange's answer to the messages `sent` (or what reads them) as a task."""
        run = Run(exchange["id"], self.runs, token, self.lease_seconds)
        self.runs[run.exchange_id] = run

        async def write() -> None:
            try:
                model = self.catalog.answering(exchange["model"], exchange["server"])
                await run.write(self.db, self.spool, model, exchange, sent, options)
            except Exception:
                log.exception("answer %s could not run", run.exchange_id)
            finally:
                if run.outcome is not None:
                    self.remember(exchanges.row(**exchange | run.outcome.columns()))
                self.runs.pop(run.exchange_id, None)
                run.end()
                release()

        run.task = asyncio.get_running_loop().create_task(write(), name=f"answer-{run.exchange_id}")
        return run

    def remember(self, ended: Row) -> None:
        """Keep how an answer ended, to show it should the database not answer its stream's last read."""
        self.ended[ended["id"]] = ended
        self.ended.move_to_end(ended["id"])
        while len(self.ended) > ENDED_KEPT:
            self.ended.popitem(last=False)

    async def close(self) -> None:
        """End the answers still running as interrupted, and wait (a while) for them to be stored."""
        active = list(self.runs.values())
        for run in active:
            run.stop(Status.INTERRUPTED)
        tasks = [run.task for run in active if run.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
        await self.catalog.close()
