"""The visitor's conversations: the sidebar list, renaming and deleting."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, abort, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import NotFound
from ..config import current_config
from ..people.access import signed_in_only
from ..people.identity import current_user, owner
from ..storage import api_keys, conversations, get_db
from ..storage.dialects import TIME_FORMAT, as_datetime
from ..web.addresses import return_address
from ..web.confirm import unconfirmed
from ..web.htmx import is_htmx, render
from ..web.ids import parse_id

bp = Blueprint("conversations", __name__)

PAGE_SIZE = 30
TITLE_LIMIT = 200


@bp.get("/conversations")
@signed_in_only
async def list_conversations() -> Response:
    """List a page of the visitor's conversations, most recent first; `before` pages further back."""
    before = _cursor(request.args.get("before"), request.args.get("before_id"))
    page = await sidebar_page(request.args.get("current", type=parse_id), before)
    return await render("conversations/list.html", "items", **page)


async def sidebar_page(current: int | None, before: tuple[str, int] | None = None) -> dict[str, Any]:
    """A page of the visitor's chats for `conversations/_items.html`: rows, current chat, next cursor."""
    rows = await conversations.page(get_db(), owner(), before, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    older = None
    if more:
        last = rows[-1]
        older = {"before": _moment(last["updated_at"]), "before_id": last["id"]}
    # A person's API calls stay out of the list; one link leads to them all.
    user = current_user()
    api_calls = user is not None and before is None and await api_keys.any_of(get_db(), user["id"])
    return {"conversations": rows, "current": current, "older": older, "api_calls": api_calls}


@bp.post("/c/<int:conversation_id>/rename")
@signed_in_only
async def rename(conversation_id: int) -> ResponseReturnValue:
    """Give a conversation the title the visitor typed."""
    form = await request.form
    title = " ".join((form.get("title") or "").split())
    if not title:
        abort(422, messages.TYPE_A_TITLE)
    if len(title) > TITLE_LIMIT:
        abort(422, messages.title_too_long(TITLE_LIMIT))
    db = get_db()
    if not await conversations.rename(db, conversation_id, owner(), title):
        raise NotFound(messages.NOT_YOURS)
    if not is_htmx():
        return redirect(
            return_address(form.get("back")) or url_for("chat.show", conversation_id=conversation_id), 303
        )
    conversation = await conversations.get(db, conversation_id, owner())
    return await render(
        "conversations/list.html", "renamed", conversation=conversation, current=current_from_page()
    )


@bp.post("/c/<int:conversation_id>/delete")
@signed_in_only
async def delete(conversation_id: int) -> ResponseReturnValue:
    """Delete a chat: hidden from its owner, or erased with DELETE_ERASES (confirmed first without JS)."""
    shown = url_for("chat.show", conversation_id=conversation_id)
    back = return_address((await request.form).get("back"))
    if back is None or back.partition("?")[0] == shown:
        back = url_for("chat.index")
    if asking := await unconfirmed("conversation", back):
        return asking
    if not await conversations.delete(get_db(), conversation_id, owner(), current_config().delete_erases):
        raise NotFound(messages.NOT_YOURS)
    if not is_htmx():
        return redirect(back, 303)
    # Every item and row of it on the page goes; a page showing it starts a new chat.
    response = await render("conversations/list.html", "deleted", conversation_id=conversation_id)
    if current_from_page() == conversation_id:
        response.headers["HX-Redirect"] = url_for("chat.index")
    return response


def current_from_page() -> int | None:
    """The conversation the page that sent an htmx request shows, if any."""
    page = return_address(request.headers.get("HX-Current-URL")) or ""
    _, found, tail = page.partition("?")[0].rpartition("/c/")
    return parse_id(tail) if found else None


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
