"""Following an answer: its text as it grows, here or from the database, and one stream's events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass

from .. import messages
from ..rendering.live import LiveAnswer
from ..storage import DatabaseUnavailable, Row, exchanges, users
from ..storage.status import FINISHED, LIVE, Status
from . import run as runs
from .answering import Answering
from .places import Places
from .refusals import Busy, NotFound
from .run import Run, batch_seconds
from .watching import POLL_SECONDS, Watching

__all__ = ["POLL_SECONDS", "Ended", "Following", "Grew", "Unfollowed"]

log = logging.getLogger(__name__)

# Windows following one answer in one process; each costs a connection, and a poll when remote.
FOLLOWERS_PER_ANSWER = 16
# While the database is away, how often a stream tries it again.
RETRY_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Grew:
    """The answer's new text as the event that shows it: `blocks` (rendered) or `delta` (escaped text)."""

    event: str
    html: str
    reached: int  # the characters of the answer on screen once this is shown


@dataclass(frozen=True, slots=True)
class Ended:
    """The answer to show whole: as it ended, or as it stands when it stalled."""

    exchange: Row | None
    stalled: bool = False


@dataclass(frozen=True, slots=True)
class Unfollowed:
    """Why this stream cannot follow the answer, with the exchange when it was read."""

    exchange_id: int
    message: str
    exchange: Row | None = None


class Following:
    """The streams following a process's answers, at most FOLLOWERS_PER_ANSWER on each."""

    def __init__(self, answering: Answering) -> None:
        self.answering = answering
        self.followers = Places(FOLLOWERS_PER_ANSWER)
        self.watching = Watching(answering.db)
        # How long a stream waits for an answer that does not move or a database that does
        # not answer (a Galera node's death stalls its peers for several seconds).
        self.patience = 2 * answering.config.llm_timeout

    async def events(
        self, owner: str, exchange_id: int, offset: int, client: Hashable, read: Row | None = None
    ) -> AsyncIterator[Grew | Ended | Unfollowed]:
        """One stream's events: the answer's text after `offset` characters as it grows, then all of it.

        `read` is the exchange as the caller just read it, which spares reading it again.
        A pending answer is started in one of the client's places. While the database
        recovers (a node dying, its cluster settling) the stream waits, open; past its
        patience the answer is shown as one the database could not give.
        """
        try:
            async for event in self._events(owner, exchange_id, offset, client, read):
                yield event
        except DatabaseUnavailable:
            yield Ended(exchanges.row(id=exchange_id, status=Status.ERROR, error=messages.ANSWER_AWAY))

    async def _events(
        self, owner: str, exchange_id: int, offset: int, client: Hashable, read: Row | None
    ) -> AsyncIterator[Grew | Ended | Unfollowed]:
        answering = self.answering
        exchange = read
        if exchange is None:
            try:
                exchange = await self._patiently(lambda: answering.get(owner, exchange_id))
            except NotFound as missing:
                yield Unfollowed(exchange_id, str(missing))
                return
        with self.followers.hold(exchange_id) as following:
            if not following:
                yield Unfollowed(exchange_id, messages.FOLLOWERS_FULL, exchange)
                return
            if exchange["status"] == Status.PENDING:
                try:
                    # Claimed again while the database recovers (a node dying): a claim that failed
                    # changed nothing, and otherwise nobody would answer it before the sweeper.
                    await self._patiently(lambda: answering.start(exchange, client))
                except Busy as busy:
                    yield Unfollowed(exchange_id, str(busy), exchange)
                    return
                except DatabaseUnavailable as error:
                    # Still pending: followed from the database, where the sweeper answers it in time.
                    log.warning(
                        "exchange %s could not be claimed (%s); following it instead", exchange_id, error
                    )
            live = LiveAnswer(exchange_id)
            # Read from the start: the text before `offset`, which the page shows, sets where blocks are cut.
            async for text, reached in self.follow(exchange_id, 0):
                if (new := reached - offset) <= 0:
                    live.skip(text)
                    continue
                if new < len(text):
                    live.skip(text[:-new])
                    text = text[-new:]
                if (event := await live.event(text)) is not None:
                    yield Grew(*event, reached)
            finished = await self._patiently(lambda: self.outcome(owner, exchange_id))
            # Read as patiently as the outcome: a node dying now must not turn a stored answer into an error.
            if (
                finished is not None
                and finished["status"] == Status.STOPPED
                and await self._patiently(lambda: self._disabled(owner))
            ):
                finished["notice"] = messages.STOPPED_DISABLED
            if finished is not None and finished.get("parent_id") is not None:
                versions = await self._patiently(lambda: exchanges.versions(answering.db, [finished]))
                finished["versions"] = versions[exchange_id]
            # Still running once its stream gave up following it: shown as it stands, without a new stream.
            yield Ended(finished, stalled=finished is not None and finished["status"] in LIVE)

    async def follow(self, exchange_id: int, offset: int) -> AsyncIterator[tuple[str, int]]:
        """Yield the answer's new text after `offset` characters, with the offset it reaches, until it ends.

        An answer running in this process is followed as it arrives; one running elsewhere
        is read from the database until it has not moved for twice the model's timeout
        (a model that goes quiet fails sooner: its process may be gone).
        """
        run = self.answering.runs.get(exchange_id)
        if run is not None:
            async for piece in follow_run(run, offset):
                yield piece
            return
        async for piece in self._follow_stored(exchange_id, offset):
            yield piece

    async def outcome(self, owner: str, exchange_id: int) -> Row | None:
        """The exchange as its answer ended: from the database, else as this process last saw it end.

        An answer stored but not readable now (its node just died) is still shown, and one
        spooled while the database is away is shown with a notice.
        """
        answering = self.answering
        held = answering.spool.take_held(exchange_id)
        if held is not None:
            return exchanges.row(id=exchange_id, **held.columns(), notice=messages.SPOOLED)
        try:
            return await exchanges.get(answering.db, exchange_id, owner)
        except DatabaseUnavailable:
            if (ended := answering.ended.get(exchange_id)) is None or ended["owner"] != owner:
                raise
            log.warning(
                "answer %s shown as this process saw it end: the database cannot be read", exchange_id
            )
            return ended

    async def _follow_stored(self, exchange_id: int, offset: int) -> AsyncIterator[tuple[str, int]]:
        loop = asyncio.get_running_loop()
        moved = loop.time()
        first = direct = True
        while True:
            try:
                # The first read at once; the next ones shared with every stream here that watches.
                if direct:
                    direct = False
                    found = await exchanges.progress(self.answering.db, exchange_id)
                else:
                    found = await self.watching.next(exchange_id)
            except DatabaseUnavailable:
                # Waited out like an answer that does not move: the text is kept where it is.
                if loop.time() - moved > self.patience:
                    raise
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
                self.answering.remember(found)
                return
            if loop.time() - moved > self.patience:
                return

    async def _disabled(self, owner: str) -> bool:
        """Whether the owner is an account an admin disabled (their answers were stopped for it)."""
        person = await users.by_owner(self.answering.db, owner)
        return person is not None and person["disabled_at"] is not None

    async def _patiently[T](self, work: Callable[[], Awaitable[T]]) -> T:
        """Run database work, again every second while the database is away, for as long as streams wait."""
        deadline = asyncio.get_running_loop().time() + self.patience
        while True:
            try:
                return await work()
            except DatabaseUnavailable:
                if asyncio.get_running_loop().time() >= deadline:
                    raise
                await asyncio.sleep(RETRY_SECONDS)


async def follow_run(run: Run, offset: int) -> AsyncIterator[tuple[str, int]]:
    """Yield the new text of an answer running here after `offset` characters, and the offset it reaches."""
    loop = asyncio.get_running_loop()
    while True:
        changed = run.changed
        text = run.text()
        if len(text) > offset:
            yield text[offset:], len(text)
            offset = len(text)
            # Throttle after sending, not before: the first words go out at once.
            window = batch_seconds(len(run.registry), runs.lateness.seconds)
            due = loop.time() + window
            await asyncio.sleep(window)
            runs.lateness.note(loop.time() - due)
            continue
        if run.finished:
            return
        await changed.wait()
