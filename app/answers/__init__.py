"""A question's whole life, with no HTTP in it: asked, answered by the model, followed, stopped, asked again.

An answer runs as a task of its own, not as part of the request that started it: a
browser that reloads or loses its connection mid-answer loses nothing, and the next
stream request picks the answer back up. Its text so far is saved about once a
second, so a stream served by another process can follow it from the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import suppress
from dataclasses import dataclass

from quart import Quart, current_app

from .. import messages
from ..config import Config
from ..model.catalog import Catalog, Choice
from ..storage import (
    CommitUnknown,
    Database,
    DatabaseUnavailable,
    Executor,
    Row,
    Spool,
    conversations,
    exchanges,
    preferences,
)
from ..storage.dialects import utc_in, utcnow
from ..storage.status import FINISHED, Status
from .places import Places
from .prompt import build_messages
from .run import BATCH_SECONDS, Run, batch_seconds

__all__ = [
    "Answers",
    "Asked",
    "Busy",
    "Conflict",
    "Invalid",
    "NotFound",
    "Refused",
    "get_answers",
    "init_app",
]

log = logging.getLogger(__name__)

# How often a stream whose answer runs in another process reads it from the database.
POLL_SECONDS = 0.5
SHUTDOWN_SECONDS = 5.0
FORM_KEY_CHARS = 64
# Unclaimed questions the sweeper takes up at each pass, and finished answers kept in memory
# to show when the database cannot be read at the very end of a stream.
SWEEP_BATCH = 20
ENDED_KEPT = 1024


class Refused(Exception):
    """What was asked cannot be done; the message says why, in words for the person who asked."""


class NotFound(Refused):
    """The conversation or exchange does not exist, or belongs to someone else."""


class Conflict(Refused):
    """The exchange is not in a state that allows this."""


class Busy(Refused):
    """Every answer place of this client is taken."""


class Invalid(Refused):
    """The question cannot be sent as it is."""


@dataclass(frozen=True, slots=True)
class Asked:
    """A stored question: its exchange, and its conversation when the question started one."""

    exchange: Row
    new_conversation: Row | None


class Answers:
    """Every question and answer of one app process, over its database, spool and models."""

    def __init__(self, db: Database, spool: Spool, catalog: Catalog, config: Config) -> None:
        self.db = db
        self.spool = spool
        self.catalog = catalog
        self.config = config
        self.runs: dict[int, Run] = {}
        self.places = Places(config.max_streams_per_client)
        self.lease_seconds = config.answer_lease_seconds
        # How long a stream waits for an answer that does not move or a database that does
        # not answer (a Galera node's death stalls its peers for several seconds).
        self.patience = 2 * config.llm_timeout
        self.ended: OrderedDict[int, Row] = OrderedDict()
        self.reached: str | None = None  # when the last sweep found the database answering

    def problem(self, question: str) -> str | None:
        """What is wrong with a question, in words for the person who typed it (None when nothing is)."""
        limit = self.config.max_question_chars
        if not question:
            return messages.TYPE_A_QUESTION
        if len(question) > limit:
            return messages.question_too_long(len(question), limit)
        return None

    async def choose(self, key: str | None, *fallbacks: str | None) -> Choice:
        """The model a form names; without one, the first usable fallback, else the default.

        Invalid when the form names a model that is hidden or not offered.
        """
        if key:
            if (found := await self.catalog.find(key)) is None:
                raise Invalid(messages.MODEL_UNAVAILABLE)
            return found
        return await self.catalog.first(*fallbacks) or self.catalog.default

    async def ask(
        self,
        owner: str,
        question: str,
        conversation_id: int | None,
        form_key: str | None,
        choice: Choice | None = None,
        after: int | None = None,
    ) -> Asked:
        """Store a question as pending (in a new conversation when none is given), for the chosen model.

        `after` is the last exchange on the asker's screen: the new question continues that
        branch (by default the conversation's newest exchange).

        A form sent again with the same key after a reply that never arrived (the database
        went away during the commit) finds its question already stored instead of storing it twice.
        """
        if problem := self.problem(question):
            raise Invalid(problem)
        if choice is None:
            choice = await self.choose(None, await self._remembered(owner, conversation_id))
        self.catalog.warm(choice.server)
        key = form_key if form_key and len(form_key) <= FORM_KEY_CHARS and form_key.isascii() else None

        async def store(tx: Executor) -> Asked:
            now = utcnow()
            # First, so that questions asked in one conversation at once are stored one after the other.
            if conversation_id is not None and not await conversations.touch(tx, conversation_id, owner, now):
                raise NotFound(messages.NOT_YOURS)
            if key and (sent := await exchanges.by_ask_key(tx, owner, key)) is not None:
                return Asked(sent, None)
            return await _store_question(
                tx, owner, question, conversation_id, key, now, self.lease_seconds, after, choice, self.config
            )

        # With a form key, storing twice stores once: safe to repeat when the commit's reply was lost.
        return await self.db.transact(store, idempotent=key is not None)

    async def _remembered(self, owner: str, conversation_id: int | None) -> str | None:
        """The model a conversation last used (a new one: the person's default), as forms name it."""
        if conversation_id is None:
            found = await preferences.get(self.db, owner)
        else:
            found = await conversations.get(self.db, conversation_id, owner)
        return f"{found['model']}@{found['server']}" if found and found["server"] else None

    async def get(self, owner: str, exchange_id: int) -> Row:
        """The owner's exchange; NotFound when it is not theirs or does not exist."""
        exchange = await exchanges.get(self.db, exchange_id, owner)
        if exchange is None:
            raise NotFound(messages.NOT_YOUR_ANSWER)
        return exchange

    async def ask_again(
        self, owner: str, exchange_id: int, question: str | None = None, choice: Choice | None = None
    ) -> Row:
        """Ask a question anew (edited when a new question is given) as a new version beside it.

        The exchange and its answer stay, as do the exchanges after it: they are another branch.
        Without a choice, the model that answered it last answers again.
        """
        if question is not None and (problem := self.problem(question)):
            raise Invalid(problem)
        exchange = await self.get(owner, exchange_id)
        if choice is None:
            choice = (
                Choice(exchange["model"], exchange["server"]) if exchange["server"] else self.catalog.default
            )
        self.catalog.warm(choice.server)
        text = question or exchange["question"]
        conversation_id, parent_id = exchange["conversation_id"], exchange["parent_id"]

        async def add(tx: Executor) -> Row:
            now = utcnow()
            await conversations.touch(tx, conversation_id, owner, now)
            if await exchanges.live_in(tx, conversation_id) is not None:
                raise Conflict(messages.ANSWER_STILL_RUNNING)
            conversation = await conversations.get(tx, conversation_id, owner)
            system, temperature = await sent_instructions(tx, owner, conversation, self.config)
            new_id = await exchanges.create(
                tx,
                conversation_id,
                owner,
                text,
                now=now,
                touched=True,
                claim_within=self.lease_seconds,
                model=choice.model,
                server=choice.server,
                instructions=system,
                temperature=temperature,
                parent_id=parent_id,
            )
            await conversations.remember_model(tx, conversation_id, choice.model, choice.server)
            return exchanges.stored(
                new_id,
                conversation_id,
                owner,
                text,
                now,
                choice.model,
                choice.server,
                system,
                temperature,
                parent_id,
            )

        return await self.db.transact(add)

    async def start(self, exchange: Row, client: Hashable) -> None:
        """Claim a pending exchange and start its answer in one of the client's places.

        The place is taken before the claim's first await and held by the answer until it
        is stored, so answers started at once cannot pass the limit, nor a closed stream
        free it. Busy when every place is taken and nobody else started the answer meanwhile.
        """
        if exchange["id"] in self.runs:
            return
        if not self.places.take(client):
            if await exchanges.status(self.db, exchange["id"]) == Status.PENDING:
                raise Busy(messages.STREAMS_FULL)
            return
        try:
            claimed = await self._claim(exchange)
        except BaseException:
            self.places.release(client)
            raise
        if claimed is None:
            self.places.release(client)  # another request claimed it first and answers it
            return
        self._run(exchange, *claimed, release=lambda: self.places.release(client))

    async def follow(self, exchange_id: int, offset: int) -> AsyncIterator[tuple[str, int]]:
        """Yield the answer's new text after `offset` characters, with the offset it reaches, until it ends.

        An answer running in this process is followed as it arrives; one running elsewhere
        is read from the database until it has not moved for twice the model's timeout
        (a model that goes quiet fails sooner: its process may be gone).
        """
        run = self.runs.get(exchange_id)
        if run is not None:
            async for piece in _follow_run(run, offset):
                yield piece
            return
        async for piece in self._follow_stored(exchange_id, offset, self.patience):
            yield piece

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

    async def settle(self, exchange_id: int, within: float) -> None:
        """Wait up to `within` seconds for an answer to be stored as finished."""
        try:
            async with asyncio.timeout(within):
                while await exchanges.status(self.db, exchange_id) not in FINISHED:
                    await asyncio.sleep(BATCH_SECONDS)
        except TimeoutError:
            pass

    async def outcome(self, owner: str, exchange_id: int) -> Row | None:
        """The exchange as its answer ended: from the database, else as this process last saw it end.

        An answer stored but not readable now (its node just died) is still shown, and one
        spooled while the database is away is shown with a notice.
        """
        held = self.spool.take_held(exchange_id)
        if held is not None:
            return exchanges.row(id=exchange_id, **dataclasses.asdict(held), notice=messages.SPOOLED)
        try:
            return await exchanges.get(self.db, exchange_id, owner)
        except DatabaseUnavailable:
            if (ended := self.ended.get(exchange_id)) is None or ended["owner"] != owner:
                raise
            log.warning(
                "answer %s shown as this process saw it end: the database cannot be read", exchange_id
            )
            return ended

    async def keep_sweeping(self) -> None:
        """Sweep now and then, for as long as the app serves (every instance does; a row goes to one)."""
        while True:
            # Jittered, so that instances started together do not sweep in step.
            await asyncio.sleep(self.lease_seconds / 2 * random.uniform(0.8, 1.2))
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
        if self.reached is not None:
            if ended := await exchanges.sweep(self.db, self.reached):
                log.warning("swept %d answer(s) whose process stopped renewing its lease", ended)
            for exchange in await exchanges.unclaimed(self.db, self.reached, SWEEP_BATCH):
                if exchange["id"] in self.runs:
                    continue
                claimed = await self._claim(exchange)
                if claimed is not None:
                    log.warning("answering exchange %s, which no stream claimed in time", exchange["id"])
                    self._run(exchange, *claimed, release=lambda: None)
        else:
            await exchanges.status(self.db, 0)  # the first sweep only learns that the database answers
        self.reached = utcnow()

    async def close(self) -> None:
        """End the answers still running as interrupted, and wait (a while) for them to be stored."""
        active = list(self.runs.values())
        for run in active:
            run.stop(Status.INTERRUPTED)
        tasks = [run.task for run in active if run.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
        await self.catalog.close()

    async def _claim(self, exchange: Row) -> tuple[list[Row], str] | None:
        """Claim a pending exchange under a new lease and read its context; None if another claimant won.

        Both or neither, in one transaction. When the commit's reply is lost the claim is
        settled by reading who holds the lease, never by guessing; if even that cannot be
        read yet, the answer starts on the claim's own context and its first save settles
        it (a run whose claim did not land matches no row, stops, and writes nothing).
        """
        token = secrets.token_hex(12)
        read: list[list[Row] | None] = []

        async def claim(tx: Executor) -> list[Row] | None:
            context = None
            if await exchanges.claim(tx, exchange["id"], token, utc_in(self.lease_seconds)):
                context = await exchanges.context(tx, exchange["parent_id"], self.config.context_size)
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

    def _run(self, exchange: Row, context: list[Row], token: str, release: Callable[[], None]) -> None:
        run = Run(exchange["id"], self.runs, token, self.lease_seconds)
        self.runs[run.exchange_id] = run
        system = exchange["instructions"] or self.config.system_prompt
        messages_ = build_messages(system, context, exchange["question"])

        async def write() -> None:
            try:
                await run.write(
                    self.db, self.spool, self.catalog.model_for(exchange["server"]), exchange, messages_
                )
            except Exception:
                log.exception("answer %s could not run", run.exchange_id)
            finally:
                if run.outcome is not None:
                    self._remember(exchanges.row(**exchange | dataclasses.asdict(run.outcome)))
                self.runs.pop(run.exchange_id, None)
                run.end()
                release()

        run.task = asyncio.get_running_loop().create_task(write(), name=f"answer-{run.exchange_id}")

    def _remember(self, ended: Row) -> None:
        """Keep how an answer ended, to show it should the database not answer its stream's last read."""
        self.ended[ended["id"]] = ended
        self.ended.move_to_end(ended["id"])
        while len(self.ended) > ENDED_KEPT:
            self.ended.popitem(last=False)

    async def _follow_stored(
        self, exchange_id: int, offset: int, patience: float
    ) -> AsyncIterator[tuple[str, int]]:
        loop = asyncio.get_running_loop()
        moved = loop.time()
        first = True
        while True:
            try:
                found = await exchanges.progress(self.db, exchange_id)
            except DatabaseUnavailable:
                # Waited out like an answer that does not move: the text is kept where it is.
                if loop.time() - moved > patience:
                    raise
                await asyncio.sleep(POLL_SECONDS)
                continue
            if found is None:
                return
            # An answer finished before this stream began is sent whole as final HTML, not as text.
            if first and found["status"] in FINISHED:
                return
            first = False
            text = found["answer"] or ""
            if len(text) > offset:
                yield text[offset:], len(text)
                offset = len(text)
                moved = loop.time()
            if found["status"] in FINISHED:
                self._remember(found)
                return
            if loop.time() - moved > patience:
                return
            await asyncio.sleep(POLL_SECONDS)


async def _follow_run(run: Run, offset: int) -> AsyncIterator[tuple[str, int]]:
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


async def _store_question(
    tx: Executor,
    owner: str,
    question: str,
    conversation_id: int | None,
    form_key: str | None,
    now: str,
    claim_within: float,
    after: int | None,
    choice: Choice,
    config: Config,
) -> Asked:
    conversation = found = None
    parent_id = 0
    if conversation_id is None:
        title = conversations.title_from(question)
        conversation_id = await conversations.create(tx, owner, title, now, choice.model, choice.server)
        conversation = conversations.stored(conversation_id, owner, title, now, choice.model, choice.server)
    else:
        if await exchanges.live_in(tx, conversation_id) is not None:
            # Its answer would be missing from this question's context: one answer at a time.
            raise Conflict(messages.ANSWER_STILL_RUNNING)
        if after is None or not await exchanges.in_conversation_has(tx, conversation_id, after):
            after = await exchanges.last_in_conversation(tx, conversation_id)
        parent_id = after or 0
        found = await conversations.get(tx, conversation_id, owner)
        if found is None:
            raise NotFound(messages.NOT_YOURS)
        if (found["model"], found["server"]) != (choice.model, choice.server):
            await conversations.remember_model(tx, conversation_id, choice.model, choice.server)
    system, temperature = await sent_instructions(tx, owner, found, config)
    exchange_id = await exchanges.create(
        tx,
        conversation_id,
        owner,
        question,
        form_key,
        now=now,
        touched=True,
        claim_within=claim_within,
        model=choice.model,
        server=choice.server,
        instructions=system,
        temperature=temperature,
        parent_id=parent_id,
    )
    stored = exchanges.stored(
        exchange_id,
        conversation_id,
        owner,
        question,
        now,
        choice.model,
        choice.server,
        system,
        temperature,
        parent_id,
    )
    return Asked(stored, conversation)


async def sent_instructions(
    tx: Executor, owner: str, conversation: Row | None, config: Config
) -> tuple[str, float | None]:
    """The system prompt and temperature a question is sent with.

    The operator's SYSTEM_PROMPT always leads; the conversation's own instructions, or
    else the person's default ones, follow it. The conversation's temperature, or TEMPERATURE.
    """
    personal = conversation["instructions"] if conversation else None
    if not personal:
        saved = await preferences.get(tx, owner)
        personal = saved["instructions"] if saved else None
    system = f"{config.system_prompt}\n\n{personal}" if personal else config.system_prompt
    own = conversation["temperature"] if conversation else None
    return system, own if own is not None else config.temperature


def init_app(app: Quart) -> None:
    """Make the app's answers (and model client) while it serves; end running ones before the database closes.

    Call after storage.init_app: serving hooks are undone in reverse order.
    """

    @app.while_serving
    async def answers() -> AsyncIterator[None]:
        config = app.config["ANSWERS"]
        answers = Answers(app.extensions["db"], app.extensions["spool"], Catalog(config), config)
        app.extensions["answers"] = answers
        sweeper = asyncio.create_task(answers.keep_sweeping(), name="sweeper")
        try:
            yield
        finally:
            sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await sweeper
            await app.extensions.pop("answers").close()


def get_answers() -> Answers:
    """The answers of the app handling the current request."""
    return current_app.extensions["answers"]
