"""The visitor's conversations: the sidebar list, renaming and deleting."""

from __future__ import annotations

from urllib.parse import urlsplit

from quart import Blueprint, Response, abort, redirect, request, url_for

from ..htmx import is_htmx, render
from ..ids import parse_id
from ..security import owner
from ..storage import conversations, get_db
from ..storage.dialects import TIME_FORMAT, as_datetime

bp = Blueprint("conversations", __name__)

PAGE_SIZE = 30
TITLE_LIMIT = 200


@bp.get("/conversations")
async def list_conversations() -> Response:
    """List a page of the visitor's conversations, most recent first; `before` pages further back."""
    before = _cursor(request.args.get("before"), request.args.get("before_id"))
    current = request.args.get("current", type=parse_id)
    rows = await conversations.page(get_db(), owner(), before, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    after = None
    if more:
        last = rows[-1]
        after = {"before": _moment(last["updated_at"]), "before_id": last["id"]}
    return await render(
        "conversations/list.html", "items", conversations=rows, current=current, after=after
    )


@bp.post("/c/<int:conversation_id>/rename")
async def rename(conversation_id: int) -> Response:
    """Give a conversation the title the visitor typed."""
    title = " ".join(((await request.form).get("title") or "").split())
    if not title:
        abort(422, "Type a title for the chat.")
    if len(title) > TITLE_LIMIT:
        abort(422, f"A title can be {TITLE_LIMIT} characters long at most.")
    db = get_db()
    if not await conversations.rename(db, conversation_id, owner(), title):
        abort(404, "This conversation does not exist, or it belongs to another browser.")
    if not is_htmx():
        return redirect(_from_list() or url_for("chat.show", conversation_id=conversation_id), 303)
    conversation = await conversations.get(db, conversation_id, owner())
    return await render(
        "conversations/list.html", "renamed", conversation=conversation, current=_current_from_page()
    )


@bp.post("/c/<int:conversation_id>/delete")
async def delete(conversation_id: int) -> Response:
    """Delete a conversation with all its questions and answers."""
    db = get_db()
    async with db.transaction() as tx:
        if not await conversations.delete(tx, conversation_id, owner()):
            abort(404, "This conversation does not exist, or it belongs to another browser.")
    if not is_htmx():
        return redirect(_from_list() or url_for("chat.index"), 303)
    # The item swaps itself out; a page showing the deleted conversation starts a new one.
    response = Response("", status=200)
    if _current_from_page() == conversation_id:
        response.headers["HX-Redirect"] = url_for("chat.index")
    return response


def _current_from_page() -> int | None:
    """The conversation the page that sent an htmx request shows, if any."""
    path = urlsplit(request.headers.get("HX-Current-URL", "")).path
    _, found, tail = path.rpartition("/c/")
    return int(tail) if found and tail.isdigit() else None


def _from_list() -> str | None:
    """The list page's address, when a form without JavaScript was sent from it."""
    page = url_for("conversations.list_conversations")
    return page if urlsplit(request.referrer or "").path == page else None


def _cursor(updated_at: str | None, conversation_id: str | None) -> tuple[str, int] | None:
    """Read a keyset cursor from the query string; a malformed one starts from the top."""
    last_id = parse_id(conversation_id)
    if not updated_at or last_id is None:
        return None
    try:
        moment = as_datetime(updated_at)
    except ValueError:
        return None
    return (_moment(moment), last_id) if moment else None


def _moment(value: object) -> str:
    moment = as_datetime(value)
    assert moment is not None
    return moment.strftime(TIME_FORMAT)
