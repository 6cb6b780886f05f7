"""API calls: a chat completion asked through the API, stored as an exchange of its own, answered, stopped.

Each call is a chat of its own (kept out of the sidebar) holding one exchange: it is
stored already claimed, with its lease, in one transaction, so no sweeper answers it a
second time, and the whole request (messages, tools, settings) is kept beside it. Its
answer runs like any other (saved as it grows, stored or spooled at its end); a caller
who goes away stops it, and the text so far stays.
"""

from __future__ import annotations

import secrets
from collections.abc import Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson

from .. import messages
from ..model.catalog import Choice
from ..storage import Executor, Row, conversations, exchanges, quotas
from ..storage.dialects import utc_in, utcnow
from ..storage.status import Status
from .answering import Answering
from .refusals import Busy
from .run import Run


@dataclass(frozen=True, slots=True)
class Call:
    """One chat completion asked through the API, checked: what is stored, and what the model is sent."""

    choice: Choice
    messages: list[dict[str, Any]]
    # Further fields of the model's request: tools, stop, max_tokens…
    options: dict[str, Any]
    temperature: float | None
    # What the history shows: the last question asked, and the instructions given.
    question: str
    instructions: str | None
    # The request as it came, kept with the exchange.
    request: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls: the person's owner id, the name of the key they call with, the places they hold,
    and their answers at once (None: MAX_STREAMS_PER_CLIENT)."""

    owner: str
    key_name: str
    client: Hashable
    answers_at_once: int | None = None


class Calls:
    """The API calls of one process's answers."""

    def __init__(self, answering: Answering) -> None:
        self.answering = answering

    async def start(self, caller: Caller, call: Call) -> Run:
        """Store the call as an exchange being answered and start its answer; Busy when no place is free."""
        answering = self.answering
        if not answering.places.take(caller.client):
            raise Busy(messages.STREAMS_FULL)
        try:
            answering.catalog.warm(call.choice.server)
            token = secrets.token_hex(12)
            exchange = await quotas.placed(
                answering.db, caller.owner, partial(self._store, caller, call, token)
            )
        except BaseException:
            answering.places.release(caller.client)
            raise
        return answering.launch(
            exchange, call.messages, token, lambda: answering.places.release(caller.client), call.options
        )

    async def _store(self, caller: Caller, call: Call, token: str, tx: Executor) -> Row:
        """The call's chat and exchange, claimed under `token`'s lease: all of it, or nothing.

        Busy when the person's answers at once are all taken, counted with their places locked.
        """
        await quotas.lock_places(tx, caller.owner)
        cap = caller.answers_at_once or self.answering.config.max_streams_per_client
        if await quotas.live_answers(tx, caller.owner) >= cap:
            raise Busy(messages.answers_at_once(cap))
        now = utcnow()
        model, server = call.choice.model, call.choice.server
        title = conversations.title_from(call.question)
        conversation_id = await conversations.create(tx, caller.owner, title, now, model, server, api=True)
        exchange = await exchanges.create(
            tx,
            conversation_id,
            caller.owner,
            call.question,
            now=now,
            touched=True,
            model=model,
            server=server,
            instructions=call.instructions,
            temperature=call.temperature,
            parent_id=0,
            key_name=caller.key_name,
            api_request=orjson.dumps(call.request).decode(),
        )
        claimed = await exchanges.claim(tx, exchange["id"], token, utc_in(self.answering.lease_seconds))
        assert claimed, "a call's exchange is claimed in the transaction that stores it"
        return exchange | {"status": Status.STREAMING.value}
