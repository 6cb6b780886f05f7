"""Asking: a question checked and stored as pending (in a new conversation if need be), or asked again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from .. import messages
from ..config import Config
from ..model.catalog import Choice, Permitted
from ..storage import Executor, Row, attachments, conversations, exchanges, folders, preferences, quotas
from ..storage.dialects import utcnow
from .answering import Answering
from .refusals import Behind, Busy, Conflict, Invalid, NotFound

T = TypeVar("T")

FORM_KEY_CHARS = 64


@dataclass(frozen=True, slots=True)
class Asked:
    """A stored question: its exchange, and its conversation when the question started one.

    `asked_in` is the conversation it was asked in, as it stood once touched (a follow-up's).
    """

    exchange: Row
    new_conversation: Row | None
    asked_in: Row | None = None


class Asking:
    """Questions asked of a process's answers, each stored in one transaction."""

    def __init__(self, answering: Answering) -> None:
        self.answering = answering

    def problem(self, question: str) -> str | None:
        """What is wrong with a question, in words for the person who typed it (None when nothing is)."""
        limit = self.answering.config.max_question_chars
        if not question:
            return messages.TYPE_A_QUESTION
        if len(question) > limit:
            return messages.question_too_long(len(question), limit)
        return None

    async def choose(self, key: str | None, *fallbacks: str | None, permitted: Permitted = None) -> Choice:
        """The model a form names; without one, the first usable fallback, else the default.

        Invalid when the form names a model that is hidden, not offered, or not `permitted`
        to the asker (kept for groups they are not in), and when none is left to them.
        """
        catalog = self.answering.catalog
        if key:
            if (found := await catalog.find(key, permitted)) is None:
                raise Invalid(messages.MODEL_UNAVAILABLE)
            return found
        if (first := await catalog.first(*fallbacks, permitted=permitted)) is not None:
            return first
        if permitted is None or permitted(catalog.default):
            return catalog.default
        raise Invalid(messages.MODEL_UNAVAILABLE)

    async def choice_for(
        self, owner: str, conversation_id: int | None, key: str | None, permitted: Permitted = None
    ) -> Choice:
        """The model a question goes to: the form's, else the conversation's (a new chat: the person's)."""
        if key:
            return await self.choose(key, permitted=permitted)
        return await self.choose(None, await self._remembered(owner, conversation_id), permitted=permitted)

    async def ask(
        self,
        owner: str,
        question: str,
        conversation_id: int | None,
        form_key: str | None,
        choice: Choice | None = None,
        after: int | None = None,
        newest: bool = False,
        counted: bool = False,
        files: Sequence[int] = (),
        permitted: Permitted = None,
        cap: int | None = None,
    ) -> Asked:
        """Store a question as pending (in a new conversation when none is given), for the chosen model.

        `after` is the last exchange on the asker's screen: the new question continues that
        branch (by default the conversation's newest exchange). `newest` says the screen shows
        the conversation's newest branch. Behind when the screen is out of date: the
        conversation went on after `after` (or, followed as the newest, anywhere) elsewhere;
        the question is never stored as a branch the asker did not see. `files` are the ids of the
        question's stored files, attached to it in the same transaction.

        A form sent again with the same key after a reply that never arrived (the database
        went away during the commit) finds its question already stored instead of storing it twice.
        `counted`: the owner is held to `cap` answers at once (an account; MAX_STREAMS_PER_CLIENT
        by default). `permitted`: the models the asker may use.
        """
        if problem := self.problem(question):
            raise Invalid(problem)
        db = self.answering.db
        # A new chat's model and instructions both come from the person's settings: read once.
        saved = await preferences.get(db, owner) if conversation_id is None else None
        if choice is None:
            found = saved if conversation_id is None else await conversations.get(db, conversation_id, owner)
            choice = await self.choose(None, _model_key(found), permitted=permitted)
        self.answering.catalog.warm(choice.server)
        key = form_key if form_key and len(form_key) <= FORM_KEY_CHARS and form_key.isascii() else None

        async def store(tx: Executor) -> Asked:
            if counted:
                await quotas.lock_places(tx, owner)
            now = utcnow()
            # Then, so that questions asked in one conversation at once are stored one after the other.
            if conversation_id is not None and not await conversations.touch(tx, conversation_id, owner, now):
                raise NotFound(messages.NOT_YOURS)
            if key and (sent := await exchanges.by_ask_key(tx, owner, key)) is not None:
                return Asked(sent, None)
            parent_id, state = None, None
            if conversation_id is not None:
                # The conversation, its live answer and its newest exchange in one statement.
                if (state := await conversations.asked_in(tx, conversation_id, owner, after)) is None:
                    raise NotFound(messages.NOT_YOURS)
                if after is not None and state["after_here"]:
                    if await _went_on(tx, state, after, newest):
                        raise Behind(messages.NEWER_ELSEWHERE)
                    parent_id = after
            asked = await self._store(
                tx, owner, question, state, parent_id, choice, now, key, counted, saved, cap=cap
            )
            await attachments.attach(tx, files, asked.exchange["id"], owner)
            return asked

        # With a form key, storing twice stores once: safe to repeat when the commit's reply was lost.
        return await quotas.placed(db, owner, store, idempotent=key is not None)

    async def ask_again(
        self,
        owner: str,
        exchange_id: int,
        question: str | None = None,
        choice: Choice | None = None,
        counted: bool = False,
        permitted: Permitted = None,
        cap: int | None = None,
    ) -> Row:
        """Ask a question anew (edited when a new question is given) as a new version beside it.

        The exchange and its answer stay, as do the exchanges after it: they are another branch.
        Without a choice, the model that answered it last answers again; Invalid when the
        operator has withdrawn that model since, or the asker may no longer use it (`permitted`).
        """
        if question is not None and (problem := self.problem(question)):
            raise Invalid(problem)
        exchange = await self.answering.get(owner, exchange_id)
        catalog = self.answering.catalog
        if choice is None:
            choice = (
                catalog.stored_choice(exchange["model"], exchange["server"])
                if exchange["server"]
                else catalog.default
            )
            if catalog.withdrawn(choice):
                raise Invalid(messages.model_gone(choice.model))
            if permitted is not None and not permitted(choice):
                raise Invalid(messages.model_not_yours(choice.model))
        catalog.warm(choice.server)
        text = question or exchange["question"]
        conversation_id, parent_id = exchange["conversation_id"], exchange["parent_id"]

        async def store(tx: Executor) -> Row:
            if counted:
                await quotas.lock_places(tx, owner)
            now = utcnow()
            await conversations.touch(tx, conversation_id, owner, now)
            if (state := await conversations.asked_in(tx, conversation_id, owner, None)) is None:
                raise NotFound(messages.NOT_YOURS)
            asked = await self._store(
                tx, owner, text, state, parent_id, choice, now, counted=counted, cap=cap
            )
            return asked.exchange

        return await quotas.placed(self.answering.db, owner, store)

    async def _store(
        self,
        tx: Executor,
        owner: str,
        question: str,
        state: Row | None,
        parent_id: int | None,
        choice: Choice,
        now: str,
        form_key: str | None = None,
        counted: bool = False,
        saved: Row | None = None,
        cap: int | None = None,
    ) -> Asked:
        """Store a question as pending for the chosen model, with the instructions it will be sent with.

        It goes in the conversation `state` (as `conversations.asked_in` read it), after
        `parent_id` (None: the conversation's newest exchange), or opens a new conversation
        with the person's `saved` settings when there is none. Busy when the owner is `counted` and
        their answers at once (`cap`, else MAX_STREAMS_PER_CLIENT) are all taken (the transaction
        holds their places locked: counted and taken in one step).
        """
        cap = cap or self.answering.config.max_streams_per_client
        if counted and await quotas.live_answers(tx, owner) >= cap:
            raise Busy(messages.answers_at_once(cap))
        new_conversation = None
        if state is None:
            title = conversations.title_from(question)
            conversation_id = await conversations.create(tx, owner, title, now, choice.model, choice.server)
            conversation = new_conversation = conversations.stored(
                conversation_id, owner, title, now, choice.model, choice.server
            )
            parent_id = 0
        else:
            if state["live_id"] is not None:
                # Its answer would be missing from this question's context: one answer at a time.
                raise Conflict(messages.ANSWER_STILL_RUNNING)
            conversation, conversation_id = state, state["id"]
            if parent_id is None:
                parent_id = state["last_id"] or 0
            if (conversation["model"], conversation["server"]) != (choice.model, choice.server):
                await conversations.remember_model(tx, conversation_id, choice.model, choice.server)
        # A new chat's settings were read already ({}: the person has none).
        personal = (saved or {}) if state is None else None
        system, temperature = await sent_instructions(
            tx, owner, conversation, self.answering.config, personal
        )
        exchange = await exchanges.create(
            tx,
            conversation_id,
            owner,
            question,
            form_key,
            now=now,
            touched=True,
            claim_within=self.answering.lease_seconds,
            model=choice.model,
            server=choice.server,
            instructions=system,
            temperature=temperature,
            parent_id=parent_id,
        )
        return Asked(exchange, new_conversation, state)

    async def _remembered(self, owner: str, conversation_id: int | None) -> str | None:
        """The model a conversation last used (a new one: the person's default), as forms name it."""
        if conversation_id is None:
            found = await preferences.get(self.answering.db, owner)
        else:
            found = await conversations.get(self.answering.db, conversation_id, owner)
        return _model_key(found)


def _model_key(found: Row | None) -> str | None:
    """The model a conversation or a person's settings remember, as forms name it."""
    return f"{found['model']}@{found['server']}" if found and found["server"] else None


async def _went_on(tx: Executor, state: Row, after: int, newest: bool) -> bool:
    """Whether the conversation has exchanges a screen ending at `after` does not show."""
    if newest:
        return bool(state["last_id"] != after)
    return await exchanges.followed(tx, state["id"], after)


async def sent_instructions(
    tx: Executor, owner: str, conversation: Row, config: Config, saved: Row | None = None
) -> tuple[str, float | None]:
    """The system prompt and temperature a question is sent with.

    The operator's SYSTEM_PROMPT always leads; then, each when there is one, the person's
    own instructions (`saved`, when already read), their folder's, and the chat's own, in
    that order, a blank line apart. The chat's temperature, or TEMPERATURE.
    """
    if saved is None:
        saved = await preferences.get(tx, owner)
    folder = await folders.get(tx, conversation["folder_id"], owner) if conversation["folder_id"] else None
    layers = (
        config.system_prompt,
        saved.get("instructions") if saved else None,
        folder["instructions"] if folder else None,
        conversation["instructions"],
    )
    system = "\n\n".join(layer for layer in layers if layer)
    own = conversation["temperature"]
    return system, own if own is not None else config.temperature
