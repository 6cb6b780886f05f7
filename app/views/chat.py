"""The chat: the page, asking a question, the answer's event stream and its controls."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import suppress

from markupsafe import escape
from quart import Blueprint, Response, abort, redirect, render_template, request, stream_with_context, url_for

from .. import answering, limits, sse
from ..config import current_config
from ..htmx import is_htmx, render
from ..ids import parse_id
from ..llm import get_model
from ..security import owner
from ..storage import DatabaseUnavailable, Executor, Row, conversations, exchanges, get_db
from ..storage.dialects import utcnow
from ..storage.exchanges import ERROR, FINISHED, PENDING

bp = Blueprint("chat", __name__)

NOT_YOURS = "This conversation does not exist, or it belongs to another browser."
NOT_YOUR_ANSWER = "This answer does not exist, or it belongs to another browser."
DATABASE_AWAY = (
    "The database is not answering right now, so your question was not sent. "
    "It is still here: send it again in a moment."
)
ANSWER_AWAY = "The database is not answering right now; reload the page in a moment to see this answer."
# Without JavaScript a stop redirects; it waits this long for the answer to settle first.
STOP_SETTLE_SECONDS = 3.0


@bp.context_processor
async def ask_key() -> dict[str, str]:
    """A fresh key for each composer form, so that sending the same form twice stores one question."""
    # Async on purpose: Quart runs a plain function processor in a worker thread, on every render.
    return {"ask_key": secrets.token_urlsafe(16)}


@bp.get("/")
async def index() -> Response:
    """Show an empty conversation, ready for a first question."""
    return await render("chat/index.html", conversation=None, exchanges=[])


@bp.get("/c/<int:conversation_id>")
async def show(conversation_id: int) -> Response:
    """Show one of the visitor's conversations with every exchange in it."""
    db = get_db()
    conversation = await conversations.get(db, conversation_id, owner())
    if conversation is None:
        abort(404, NOT_YOURS)
    rows = await exchanges.in_conversation(db, conversation_id)
    return await render("chat/index.html", conversation=conversation, exchanges=rows)


@bp.post("/ask")
@limits.limited_by("ask_rate")
async def ask() -> Response:
    """Store a question, then hand back its bubble and a live answer (or, without htmx, the answer)."""
    if await limits.streams_full():
        abort(429, limits.STREAMS_FULL)
    form = await request.form
    question = (form.get("question") or "").strip()
    if problem := _question_problem(question):
        return await _composer_error(problem)
    db = get_db()
    who = owner()
    conversation_id = parse_id(form.get("conversation_id"))
    new_conversation = conversation_id is None
    try:
        async with db.transaction() as tx:
            exchange, conversation = await _store_question(
                tx, who, conversation_id, question, _ask_key(form.get("ask_key"))
            )
    except DatabaseUnavailable:
        return await _composer_error(DATABASE_AWAY, status=503)
    if not is_htmx():
        await _answer_in_full(exchange)
        return _back_to(exchange)
    conversation_id = exchange["conversation_id"]
    if new_conversation and conversation is None:
        # The same form sent again: its conversation was started the first time.
        conversation = await conversations.get(db, conversation_id, who)
    response = await render(
        "chat/index.html", "exchange", "conversation_field",
        exchange=exchange, conversation={"id": conversation_id}, new_conversation=conversation,
    )
    if new_conversation:
        response.headers["HX-Push-Url"] = url_for("chat.show", conversation_id=conversation_id)
    return response


@bp.get("/answers/<int:exchange_id>/stream")
async def stream_answer(exchange_id: int) -> Response:
    """Stream an answer as server-sent events: text batches, the final HTML, then `done`.

    The answer runs on its own; this only follows it, from `offset` characters in (the
    text the page already shows) or from where a reconnecting browser left off.
    """
    db = get_db()
    who = owner()
    exchange = await exchanges.get(db, exchange_id, who)
    offset = _offset(request.headers.get("Last-Event-ID") or request.args.get("offset"))

    @stream_with_context
    async def events() -> AsyncIterator[bytes]:
        try:
            if exchange is None:
                html = await render_template("partials/_answer_missing.html", exchange_id=exchange_id)
                yield sse.event("final", html)
            elif exchange["status"] == PENDING and await limits.streams_full():
                yield sse.event("final", await render_template("partials/_answer_busy.html", exchange=exchange))
            else:
                if exchange["status"] == PENDING:
                    await _start(exchange)
                async with limits.stream_slot():
                    async for text, reached in answering.follow(db, exchange_id, offset):
                        yield sse.event("delta", str(escape(text)), id=str(reached))
                yield sse.event("final", await _answer_html(exchange_id))
        except DatabaseUnavailable:
            away = dict.fromkeys(("answer", "model", "prompt_tokens", "completion_tokens", "latency_ms", "answered_at"))
            away |= {"id": exchange_id, "status": ERROR, "error": ANSWER_AWAY}
            yield sse.event("final", await render_template("partials/_answer.html", exchange=away))
        yield sse.event("done", "")

    return sse.response(events())


@bp.post("/answers/<int:exchange_id>/stop")
async def stop(exchange_id: int) -> Response:
    """Stop an answer being written; the text so far stays, with the status `stopped`."""
    db = get_db()
    exchange = await _own_exchange(exchange_id)
    if run := answering.runs().get(exchange_id):
        run.stop()
    await exchanges.request_stop(db, exchange_id, owner())
    if is_htmx():
        # The answer's own stream delivers the stopped answer.
        return Response(status=204)
    try:
        async with asyncio.timeout(STOP_SETTLE_SECONDS):
            while await exchanges.status(db, exchange_id) not in FINISHED:
                await asyncio.sleep(answering.BATCH_SECONDS)
    except TimeoutError:
        pass  # the page then shows the answer still stopping
    return _back_to(exchange)


@bp.post("/answers/<int:exchange_id>/regenerate")
async def regenerate(exchange_id: int) -> Response:
    """Answer the last question again (Regenerate, or Retry after an error)."""
    exchange = await _own_exchange(exchange_id)
    return await _ask_again(exchange, exchange["question"])


@bp.post("/answers/<int:exchange_id>/edit")
async def edit(exchange_id: int) -> Response:
    """Replace the last question with an edited one and answer it anew."""
    exchange = await _own_exchange(exchange_id)
    question = ((await request.form).get("question") or "").strip()
    if problem := _question_problem(question):
        abort(422, problem)
    return await _ask_again(exchange, question)


async def _ask_again(exchange: Row, question: str) -> Response:
    """Reset the conversation's last exchange to pending, then answer it like a new question."""
    db = get_db()
    who = owner()
    async with db.transaction() as tx:
        if await exchanges.last_in_conversation(tx, exchange["conversation_id"]) != exchange["id"]:
            abort(409, "Only the last question of a conversation can be asked again.")
        if not await exchanges.ask_again(tx, exchange["id"], who, question):
            abort(409, "This answer is still being written; stop it first.")
    exchange = await exchanges.get(db, exchange["id"], who)
    if not is_htmx():
        await _answer_in_full(exchange)
        return _back_to(exchange)
    return await render("chat/index.html", "exchange", exchange=exchange)


async def _own_exchange(exchange_id: int) -> Row:
    exchange = await exchanges.get(get_db(), exchange_id, owner())
    if exchange is None:
        abort(404, NOT_YOUR_ANSWER)
    return exchange


def _back_to(exchange: Row | None) -> Response:
    """Redirect (303) to the exchange's place in its conversation."""
    assert exchange is not None
    page = url_for("chat.show", conversation_id=exchange["conversation_id"])
    return redirect(f"{page}#answer-{exchange['id']}", 303)


async def _answer_html(exchange_id: int) -> str:
    exchange = await answering.finished_exchange(get_db(), exchange_id, owner())
    return await render_template("partials/_answer.html", exchange=exchange)


async def _start(exchange: Row) -> answering.Run | None:
    """Claim a pending exchange and start answering it; None if another request already did."""
    config = current_config()
    context = await answering.claim(get_db(), exchange, config.context_size)
    if context is None:
        return None
    return answering.start(get_db(), get_model(), config, exchange, context)


async def _answer_in_full(exchange: Row | None) -> None:
    """Answer without a browser stream, for visitors without JavaScript."""
    if exchange is None or (run := await _start(exchange)) is None:
        return
    assert run.task is not None
    async with limits.stream_slot():
        # Shielded: a visitor who gives up waiting does not cancel the answer.
        await asyncio.shield(run.task)


def _question_problem(question: str) -> str | None:
    """Say what is wrong with a question, in words for the person who typed it."""
    limit = current_config().max_question_chars
    if not question:
        return "Type a question first."
    if len(question) > limit:
        return (
            f"Your question is {len(question):,} characters long; the limit is {limit:,}. "
            "Shorten it and send again."
        )
    return None


async def _composer_error(message: str, status: int = 422) -> Response:
    """Report a question that cannot be sent, keeping what the visitor typed."""
    if is_htmx():
        response = await render("chat/index.html", "composer_error", status=status, error=message)
        response.headers["HX-Retarget"] = "#composer-error"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    form = await request.form
    conversation_id = parse_id(form.get("conversation_id"))
    conversation = rows = None
    with suppress(DatabaseUnavailable):
        if conversation_id is not None:
            conversation = await conversations.get(get_db(), conversation_id, owner())
        if conversation is not None:
            rows = await exchanges.in_conversation(get_db(), conversation_id)
    return await render(
        "chat/index.html", status=status, error=message, ask_key=form.get("ask_key", ""),
        draft=form.get("question", ""), conversation=conversation, exchanges=rows or [],
    )


async def _store_question(
    tx: Executor, who: str, conversation_id: int | None, question: str, ask_key: str | None
) -> tuple[Row, Row | None]:
    """Store a question (in a new conversation if none is given); return its exchange, and the conversation if new.

    A form sent again with the same key after a reply that never arrived (the database
    went away during the commit) finds its question already stored instead of storing it twice.
    """
    if ask_key and (sent := await exchanges.by_ask_key(tx, who, ask_key)) is not None:
        return sent, None
    now = utcnow()
    conversation = None
    if conversation_id is None:
        title = conversations.title_from(question)
        conversation_id = await conversations.create(tx, who, title, now)
        conversation = conversations.stored(conversation_id, who, title, now)
    elif await conversations.get(tx, conversation_id, who) is None:
        abort(404, NOT_YOURS)
    exchange_id = await exchanges.create(
        tx, conversation_id, who, question, ask_key, now=now, new_conversation=conversation is not None
    )
    return exchanges.stored(exchange_id, conversation_id, who, question, now), conversation


def _ask_key(raw: str | None) -> str | None:
    return raw if raw and len(raw) <= 64 and raw.isascii() else None


def _offset(raw: str | None) -> int:
    try:
        return max(int(raw or 0), 0)
    except ValueError:
        return 0
