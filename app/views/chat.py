"""The chat: the page, asking a question, and the answer's event stream."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import suppress

from quart import Blueprint, Response, abort, redirect, render_template, request, stream_with_context, url_for

from .. import answering, sse
from ..config import current_config
from ..htmx import is_htmx, render
from ..llm import get_model
from ..security import owner
from ..storage import DatabaseUnavailable, Executor, conversations, exchanges, get_db
from ..storage.exchanges import ERROR, PENDING

bp = Blueprint("chat", __name__)


@bp.context_processor
def ask_key() -> dict[str, str]:
    """A fresh key for each composer form, so that sending the same form twice stores one question."""
    return {"ask_key": secrets.token_urlsafe(16)}


DATABASE_AWAY = (
    "The database is not answering right now, so your question was not sent. "
    "It is still here: send it again in a moment."
)
ANSWER_AWAY = "The database is not answering right now; reload the page in a moment to see this answer."


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
        abort(404, "This conversation does not exist, or it belongs to another browser.")
    rows = await exchanges.in_conversation(db, conversation_id)
    return await render("chat/index.html", conversation=conversation, exchanges=rows)


@bp.post("/ask")
async def ask() -> Response:
    """Store a question, then hand back its bubble and a live answer (or, without htmx, the answer)."""
    form = await request.form
    question = (form.get("question") or "").strip()
    limit = current_config().max_question_chars
    if not question:
        return await _composer_error("Type a question first.")
    if len(question) > limit:
        return await _composer_error(
            f"Your question is {len(question):,} characters long; the limit is {limit:,}. "
            "Shorten it and send again."
        )
    db = get_db()
    who = owner()
    conversation_id = _conversation_id(form.get("conversation_id"))
    new_conversation = conversation_id is None
    try:
        async with db.transaction() as tx:
            conversation_id, exchange_id = await _store_question(
                tx, who, conversation_id, question, _ask_key(form.get("ask_key"))
            )
    except DatabaseUnavailable:
        return await _composer_error(DATABASE_AWAY, status=503)
    exchange = await exchanges.get(db, exchange_id, who)
    page = url_for("chat.show", conversation_id=conversation_id)
    if not is_htmx():
        await _answer_in_full(exchange)
        return redirect(f"{page}#answer-{exchange_id}", 303)
    response = await render(
        "chat/index.html", "exchange", "conversation_field",
        exchange=exchange, conversation={"id": conversation_id},
    )
    if new_conversation:
        response.headers["HX-Push-Url"] = page
    return response


@bp.get("/answers/<int:exchange_id>/stream")
async def stream_answer(exchange_id: int) -> Response:
    """Stream an answer as server-sent events: text batches, the final HTML, then `done`."""
    db = get_db()
    who = owner()
    config = current_config()
    exchange = await exchanges.get(db, exchange_id, who)

    @stream_with_context
    async def events() -> AsyncIterator[bytes]:
        try:
            if exchange is None:
                html = await render_template("partials/_answer_missing.html", exchange_id=exchange_id)
                yield sse.event("final", html)
            elif (
                exchange["status"] == PENDING
                and (context := await answering.claim(db, exchange, config.context_size)) is not None
            ):
                async for text in answering.answer(get_model(), config, exchange, context):
                    yield sse.event("delta", text)
                yield sse.event("final", await _answer_html(exchange_id))
            else:
                finished = await answering.wait_until_finished(db, exchange, who)
                yield sse.event("final", await render_template("partials/_answer.html", exchange=finished))
        except DatabaseUnavailable:
            away = dict.fromkeys(("answer", "model", "prompt_tokens", "completion_tokens", "latency_ms", "answered_at"))
            away |= {"id": exchange_id, "status": ERROR, "error": ANSWER_AWAY}
            yield sse.event("final", await render_template("partials/_answer.html", exchange=away))
        yield sse.event("done", "")

    return sse.response(events())


async def _answer_html(exchange_id: int) -> str:
    exchange = await answering.finished_exchange(get_db(), exchange_id, owner())
    return await render_template("partials/_answer.html", exchange=exchange)


async def _answer_in_full(exchange: dict | None) -> None:
    """Answer without a browser stream, for visitors without JavaScript."""
    config = current_config()
    if exchange is None or (context := await answering.claim(get_db(), exchange, config.context_size)) is None:
        return
    async for _ in answering.answer(get_model(), config, exchange, context):
        pass


async def _composer_error(message: str, status: int = 422) -> Response:
    """Report a question that cannot be sent, keeping what the visitor typed."""
    if is_htmx():
        response = await render("chat/index.html", "composer_error", status=status, error=message)
        response.headers["HX-Retarget"] = "#composer-error"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    form = await request.form
    conversation_id = _conversation_id(form.get("conversation_id"))
    conversation = rows = None
    with suppress(DatabaseUnavailable):
        if conversation_id is not None:
            conversation = await conversations.get(get_db(), conversation_id, owner())
        if conversation is not None:
            rows = await exchanges.in_conversation(get_db(), conversation_id)
    return await render(
        "chat/index.html", status=status, error=message, ask_key=form.get("ask_key", ""), draft=form.get("question", ""),
        conversation=conversation, exchanges=rows or [],
    )


async def _store_question(
    tx: Executor, who: str, conversation_id: int | None, question: str, ask_key: str | None
) -> tuple[int, int]:
    """Store a question (in a new conversation if none is given); return the conversation and exchange ids.

    A form sent again with the same key after a reply that never arrived (the database
    went away during the commit) finds its question already stored instead of storing it twice.
    """
    if ask_key and (sent := await exchanges.by_ask_key(tx, who, ask_key)) is not None:
        return sent["conversation_id"], sent["id"]
    if conversation_id is None:
        conversation_id = await conversations.create(tx, who, conversations.title_from(question))
    elif await conversations.get(tx, conversation_id, who) is None:
        abort(404, "This conversation does not exist, or it belongs to another browser.")
    return conversation_id, await exchanges.create(tx, conversation_id, who, question, ask_key)


def _ask_key(raw: str | None) -> str | None:
    return raw if raw and len(raw) <= 64 and raw.isascii() else None


def _conversation_id(raw: str | None) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if value > 0 else None
