"""The chat: the page, asking a question, the answer's event stream and its controls."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from quart import Blueprint, Response, redirect, request, stream_with_context, url_for
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from .. import files, messages
from ..answers import Asked, Behind, Busy, Ended, Grew, Invalid, NotFound, Refused, Unfollowed, get_answers
from ..answers.branches import branch
from ..config import current_config
from ..people import groups, quotas
from ..people.access import SignInFirst, asks_model, signed_in_only
from ..people.identity import current_user, owner
from ..storage import (
    DatabaseUnavailable,
    Executor,
    Row,
    attachments,
    conversations,
    exchanges,
    feedback,
    get_db,
    preferences,
)
from ..storage.status import Status
from ..web import errors, limits, sse
from ..web.htmx import is_htmx, render, render_blocks
from ..web.ids import parse_id
from ..web.uploads import takes_files
from .conversations import sidebar_page

bp = Blueprint("chat", __name__)

# Without JavaScript a stop redirects; it waits this long for the answer to settle first.
STOP_SETTLE_SECONDS = 3.0
# A conversation opens at this many of its newest exchanges; older ones load on demand.
EXCHANGES_PER_PAGE = 30
# The views that send a question to the model: whatever refuses them is said under the composer.
ASKING = frozenset({"chat.ask", "chat.regenerate", "chat.edit"})


@bp.context_processor
async def ask_key() -> dict[str, str]:
    """A fresh key for each composer form, so that sending the same form twice stores one question."""
    # Async on purpose: Quart runs a plain function processor in a worker thread, on every render.
    return {"ask_key": secrets.token_urlsafe(16)}


@bp.get("/")
@signed_in_only
async def index() -> Response:
    """Show an empty conversation, ready for a first question."""
    return await render(
        "chat/index.html", conversation=None, exchanges=[], **await sidebar_page(None), **await _picker(None)
    )


@bp.get("/c/<int:conversation_id>")
@signed_in_only
async def show(conversation_id: int) -> Response:
    """Show one of the visitor's conversations at its newest exchanges; `before` pages further back."""
    conversation = await _own_conversation(conversation_id)
    before = request.args.get("before", type=parse_id)
    leaf = request.args.get("leaf", type=parse_id)
    page = await _exchanges_page(get_db(), conversation_id, before, leaf)
    # Another version asked for: its branch replaces the messages, and the composer follows it
    # (out of band: a whole page, a history restore among them, holds its fields in place).
    blocks = ("earlier", "conversation_field") if leaf is not None and before is None else ("earlier",)
    # An htmx request wants only the earlier messages, not the sidebar nor the composer.
    chats = {} if is_htmx() else await sidebar_page(conversation_id) | await _picker(conversation)
    return await render(
        "chat/index.html",
        *blocks,
        conversation=conversation,
        before=before,
        switched=len(blocks) > 1 and is_htmx(),
        **page,
        **chats,
    )


@bp.post("/ask")
@signed_in_only
@asks_model
@takes_files
async def ask() -> ResponseReturnValue:
    """Store a question and its files; hand back its bubble and a live answer (without htmx, the answer)."""
    answers = get_answers()
    if answers.places.full(limits.current_client()):
        raise Busy(messages.STREAMS_FULL)
    form = await request.form
    conversation_id = parse_id(form.get("conversation_id"))
    stored: list[int] = []
    try:
        permitted = await groups.permitted()
        chosen = form.get("model")
        choice = await answers.asking.choose(chosen, permitted=permitted) if chosen else None
        question = _question(form.get("question"))
        if uploads := files.uploads_in((await request.files).getlist("files")):
            if problem := answers.asking.problem(question):
                raise Invalid(problem)
            choice = choice or await answers.asking.choice_for(owner(), conversation_id, None, permitted)
            stored = await _received(uploads, choice.model, choice.server)
        asked = await answers.asking.ask(
            owner(),
            question,
            conversation_id,
            form.get("ask_key"),
            choice,
            after=parse_id(form.get("after")),
            newest=form.get("newest") == "1",
            counted=current_user() is not None,
            files=stored,
            permitted=permitted,
            cap=(await quotas.load()).answers_at_once,
        )
    except Behind as behind:
        return await _behind(str(behind), conversation_id, form)
    except files.Refused as refused:
        return await _composer_error(str(refused))
    except DatabaseUnavailable:
        return await _composer_error(messages.DATABASE_AWAY, status=503)
    finally:
        if stored:
            # Files of a question that was not stored (or was stored already, by a form sent twice).
            with suppress(DatabaseUnavailable):
                await attachments.discard_unattached(get_db(), stored)
    if stored:
        found = await attachments.of_exchanges(get_db(), [asked.exchange["id"]])
        asked.exchange["files"] = found.get(asked.exchange["id"], [])
    if not is_htmx():
        await answers.answer_in_full(asked.exchange, limits.current_client())
        return _back_to(asked.exchange, "exchange")
    return await _asked_html(asked, new_conversation=conversation_id is None)


async def _received(uploads: list[files.Upload], model: str, server: str) -> list[int]:
    """Store a question's files, refused as a whole when one cannot be taken (a model blind to images too)."""
    config = current_config()
    sees = files.sees_images(config.vision_models, model, server)
    return await files.receive(get_db(), owner(), uploads, config, sees, model)


@bp.get("/latest")
@signed_in_only
async def latest() -> ResponseReturnValue:
    """Bring a tab up to date with its chat: the branch anew when it went on elsewhere, else nothing (204).

    The tab says what it shows: the chat, its last exchange (`after`), and whether that
    is the chat's newest branch (`newest=1`) or a version chosen with ‹ ›.
    """
    conversation_id = parse_id(request.args.get("conversation_id"))
    if conversation_id is None:
        return Response(status=204)
    if not is_htmx():
        return redirect(url_for("chat.show", conversation_id=conversation_id), 303)
    conversation = await _own_conversation(conversation_id)
    after = parse_id(request.args.get("after"))
    newest = request.args.get("newest") == "1"
    page = await _exchanges_page(get_db(), conversation_id, None, None if newest else after)
    if page["after"] == after:
        return Response(status=204)
    return await render(
        "chat/index.html", "earlier", "conversation_field", conversation=conversation, switched=True, **page
    )


@bp.get("/answers/<int:exchange_id>/stream")
@signed_in_only
async def stream_answer(exchange_id: int) -> Response:
    """Stream an answer as server-sent events: text batches, the final HTML, then `done`.

    The answer runs on its own; this only follows it, from `offset` characters in (the
    text the page already shows) or from where a reconnecting browser left off.
    """
    offset = _offset(request.headers.get("Last-Event-ID") or request.args.get("offset"))
    client = limits.current_client()
    # Someone else's answer is a 404 like any other; a database away now is waited for in the stream.
    read = None
    with suppress(DatabaseUnavailable):
        read = await get_answers().get(owner(), exchange_id)

    @stream_with_context
    async def events() -> AsyncIterator[bytes]:
        async for event in get_answers().following.events(owner(), exchange_id, offset, client, read):
            yield await _event(event)
        yield sse.event("done", "")

    return sse.response(events())


@bp.get("/answers/<int:exchange_id>/markdown")
@signed_in_only
async def answer_markdown(exchange_id: int) -> Response:
    """An answer's markdown as plain text: what its Copy button copies (and shows without JavaScript)."""
    exchange = await get_answers().get(owner(), exchange_id)
    return Response(exchange["answer"] or "", content_type="text/plain; charset=utf-8")


@bp.post("/answers/<int:exchange_id>/stop")
@signed_in_only
async def stop(exchange_id: int) -> ResponseReturnValue:
    """Stop an answer being written; the text so far stays, with the status `stopped`."""
    answers = get_answers()
    await answers.stop(owner(), exchange_id)
    if is_htmx():
        # The answer's own stream delivers the stopped answer.
        return Response(status=204)
    await answers.settle(exchange_id, STOP_SETTLE_SECONDS)
    return _back_to(await answers.get(owner(), exchange_id))


@bp.post("/answers/<int:exchange_id>/regenerate")
@signed_in_only
@asks_model
async def regenerate(exchange_id: int) -> ResponseReturnValue:
    """Answer the last question again (Regenerate, or Retry after an error)."""
    return await _ask_again(exchange_id, None)


@bp.post("/answers/<int:exchange_id>/edit")
@signed_in_only
@asks_model
async def edit(exchange_id: int) -> ResponseReturnValue:
    """Replace the last question with an edited one and answer it anew."""
    return await _ask_again(exchange_id, _question((await request.form).get("question")))


async def _ask_again(exchange_id: int, question: str | None) -> ResponseReturnValue:
    answers = get_answers()
    if answers.places.full(limits.current_client()):
        raise Busy(messages.STREAMS_FULL)
    chosen = (await request.form).get("model")
    # A refusal (a model no longer offered, or one blind to the question's images) is said
    # under the composer, whose picker offers the models that may answer instead (`refused` below).
    permitted = await groups.permitted()
    choice = await answers.asking.choose(chosen, permitted=permitted) if chosen else None
    vision = current_config().vision_models
    if choice is not None and not files.sees_images(vision, choice.model, choice.server):
        asked_with = await attachments.of_exchanges(get_db(), [exchange_id])
        if any(file["kind"] == "image" for file in asked_with.get(exchange_id, [])):
            raise Invalid(messages.cannot_see(choice.model))
    exchange = await answers.asking.ask_again(
        owner(),
        exchange_id,
        question,
        choice,
        counted=current_user() is not None,
        permitted=permitted,
        cap=(await quotas.load()).answers_at_once,
    )
    if not is_htmx():
        await answers.answer_in_full(exchange, limits.current_client())
        return _back_to(exchange, "exchange")
    # The new version's branch replaces the messages on screen.
    page = await _exchanges_page(get_db(), exchange["conversation_id"], None, exchange["id"])
    if question is None:
        # Retried: what the failed answer got to stays in view until the new one starts.
        retried = await answers.get(owner(), exchange_id)
        for row in page["exchanges"]:
            if row["id"] == exchange["id"] and retried["status"] != Status.DONE:
                row["previous"] = retried["answer"]
    return await render(
        "chat/index.html",
        "earlier",
        "conversation_field",
        conversation={"id": exchange["conversation_id"]},
        switched=True,
        **page,
    )


async def _event(event: Grew | Ended | Unfollowed) -> bytes:
    """An answer's event as a server-sent event: new text as it comes, then the answer or a notice as HTML."""
    if isinstance(event, Grew):
        return sse.event(event.event, event.html, id=str(event.reached))
    if isinstance(event, Ended):
        return sse.event("final", await _answer_html(event.exchange, event.stalled))
    return sse.event("final", await _notice_html(event.exchange_id, event.message, event.exchange))


async def _answer_html(answer: Row | None, stalled: bool = False) -> str:
    return await render_blocks("chat/index.html", ("answer",), {"answer": answer, "stalled": stalled})


async def _notice_html(exchange_id: int, message: str, kept: Row | None = None) -> str:
    notice = {"exchange_id": exchange_id, "message": message, "exchange": kept}
    return await render_blocks("chat/index.html", ("answer_notice",), {"notice": notice})


async def _asked_html(asked: Asked, new_conversation: bool) -> Response:
    """The question's bubble and live answer; a new chat also gets its sidebar item and address."""
    exchange = asked.exchange
    conversation = asked.new_conversation
    conversation_id = exchange["conversation_id"]
    moved = None
    if new_conversation and conversation is None:
        # The same form sent again: its conversation was started the first time.
        conversation = await conversations.get(get_db(), conversation_id, owner())
    elif not new_conversation:
        # Asked in: the chat moves to the top of the sidebar.
        moved = asked.asked_in or await conversations.get(get_db(), conversation_id, owner())
    response = await render(
        "chat/index.html",
        "exchange",
        "conversation_field",
        exchange=exchange,
        conversation={"id": conversation_id},
        new_conversation=conversation,
        moved_conversation=moved,
        after=exchange["id"],
        newest=True,
    )
    if new_conversation:
        response.headers["HX-Push-Url"] = url_for("chat.show", conversation_id=conversation_id)
    return response


async def _own_conversation(conversation_id: int) -> Row:
    conversation = await conversations.get(get_db(), conversation_id, owner())
    if conversation is None:
        raise NotFound(messages.NOT_YOURS)
    return conversation


async def _exchanges_page(
    db: Executor, conversation_id: int, before: int | None, leaf: int | None = None
) -> dict[str, Any]:
    """A page of the branch through `leaf` (the newest by default), oldest first, each with its versions.

    Also the id to page back from (None at the conversation's start), the branch's last
    exchange, which the composer's next question follows, and whether that is the
    conversation's newest (the branch a tab keeps up with) or an older version's.
    """
    tree = await exchanges.tree(db, conversation_id)
    shown = branch(tree, leaf)
    ids = shown.ids
    if before is not None and before in ids:
        ids = ids[: ids.index(before)]
    page = ids[-EXCHANGES_PER_PAGE:]
    rows = await exchanges.by_ids(db, page)
    attached = await attachments.of_exchanges(db, page)
    given = await feedback.of_exchanges(db, page)
    for row in rows:
        row["versions"] = shown.versions[row["id"]]
        row["files"] = attached.get(row["id"], [])
        row["feedback"] = given.get(row["id"])
    last = shown.ids[-1] if shown.ids else None
    return {
        "exchanges": rows,
        "earlier": page[0] if len(ids) > len(page) else None,
        "after": last,
        "leaf": last,
        "newest": last is None or last == tree[-1]["id"],
    }


def _back_to(exchange: Row, part: str = "answer") -> ResponseReturnValue:
    """Redirect (303) to the exchange in its conversation: at its answer, or (a new question) its start."""
    page = url_for("chat.show", conversation_id=exchange["conversation_id"])
    return redirect(f"{page}#{part}-{exchange['id']}", 303)


@bp.errorhandler(HTTPException)
@bp.errorhandler(Refused)
@bp.errorhandler(DatabaseUnavailable)
@bp.errorhandler(Exception)
async def refused(error: Exception) -> ResponseReturnValue:
    """Say why a question was not sent under the composer, where the person looks; other errors as usual."""
    if request.endpoint not in ASKING or isinstance(error, SignInFirst):
        return await errors.respond(error)
    status, message = errors.explain(error)
    return errors.retry_after(await _composer_error(message, status), error)


async def _behind(message: str, conversation_id: int | None, form: Any) -> Response:
    """Refuse a question from a screen that is out of date, showing it what it missed (its text kept)."""
    if not is_htmx() or conversation_id is None:
        return await _composer_error(message, 409)
    after = None if form.get("newest") == "1" else parse_id(form.get("after"))
    page = await _exchanges_page(get_db(), conversation_id, None, after)
    response = await render(
        "chat/index.html",
        "earlier",
        "conversation_field",
        "refusal",
        status=409,
        conversation={"id": conversation_id},
        switched=True,
        refusal=message,
        **page,
    )
    response.headers["HX-Retarget"] = "#messages"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


async def _composer_error(message: str, status: int = 422) -> Response:
    """Report a question that cannot be sent, keeping what the visitor typed.

    htmx swaps the sentence into the line under the composer; without JavaScript the chat
    comes back with the sentence there and the question in its box (an edited one in its Edit box).
    """
    if is_htmx():
        response = await render("chat/index.html", "composer_error", status=status, error=message)
        response.headers["HX-Retarget"] = "#composer-error"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    form = await _form()
    conversation, page, chats = None, {}, {}
    exchange_id = (request.view_args or {}).get("exchange_id")
    draft, editing = form.get("question", ""), None
    if exchange_id is not None:
        # Regenerate or Edit: the draft, if any, belongs in the Edit box of the question it changes.
        if request.endpoint == "chat.edit":
            editing = {"id": exchange_id, "question": draft}
        draft = ""
    with suppress(DatabaseUnavailable, Refused):
        conversation_id = parse_id(form.get("conversation_id"))
        # A screen following the newest branch is shown the newest, whatever was added meanwhile.
        leaf = None if form.get("newest") == "1" else parse_id(form.get("after"))
        if exchange_id is not None:
            exchange = await get_answers().get(owner(), exchange_id)
            conversation_id, leaf = exchange["conversation_id"], exchange_id
        if conversation_id is not None:
            conversation = await conversations.get(get_db(), conversation_id, owner())
        if conversation is not None:
            page = await _exchanges_page(get_db(), conversation["id"], None, leaf)
        chats = await sidebar_page(conversation["id"] if conversation else None)
    chats |= await _picker(conversation, form.get("model"))
    return await render(
        "chat/index.html",
        status=status,
        error=message,
        ask_key=form.get("ask_key", ""),
        draft=draft,
        editing=editing,
        conversation=conversation,
        **{"exchanges": [], **page},
        **chats,
    )


async def _form() -> dict[str, str]:
    """The form sent, or nothing when it cannot be read (too large, or not a form)."""
    try:
        return dict((await request.form).items())
    except HTTPException:
        return {}


async def _picker(conversation: Row | None, wanted: str | None = None) -> dict[str, Any]:
    """The composer's models and the one it offers first.

    That is the one the form asked for, else the conversation's (a new chat: the person's own).
    """
    catalog = get_answers().catalog
    found = conversation
    if found is None:
        with suppress(DatabaseUnavailable):
            found = await preferences.get(get_db(), owner())
    remembered = f"{found['model']}@{found['server']}" if found and found["server"] else None
    try:
        permitted = await groups.permitted()
    except DatabaseUnavailable:
        # Whose groups may use which model cannot be read now: the composer names none.
        return {"models": [], "chosen": None}
    chosen = await catalog.first(wanted, remembered, permitted=permitted)
    return {"models": await catalog.choices(permitted), "chosen": chosen.key if chosen else None}


def _question(raw: str | None) -> str:
    """The question as typed: browsers send a line break as CRLF, the page counts it as one character."""
    return (raw or "").replace("\r\n", "\n").strip()


def _offset(raw: str | None) -> int:
    try:
        return max(int(raw or 0), 0)
    except ValueError:
        return 0
