"""The visitor's chats: the sidebar (pinned, folders, the rest, its search), renaming, moving, deleting."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, abort, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import Invalid, NotFound
from ..config import current_config
from ..people.access import signed_in_only
from ..people.identity import current_user, owner
from ..storage import Executor, Row, api_keys, chat_search, conversations, get_db
from ..storage import folders as folder_rows
from ..storage.dialects import TIME_FORMAT, as_datetime
from ..web.addresses import return_address
from ..web.confirm import unconfirmed
from ..web.htmx import is_htmx, render
from ..web.ids import parse_id

bp = Blueprint("conversations", __name__)

PAGE_SIZE = 30
TITLE_LIMIT = 200
# The sidebar's bounds: pinned chats, folders, a folder's chats shown before its page, search results.
MAX_PINS = 20
MAX_FOLDERS = 100
IN_FOLDER = 30
SEARCH_RESULTS = 30


@bp.get("/conversations")
@signed_in_only
async def list_conversations() -> Response:
    """List a page of the visitor's conversations, most recent first; `before` pages further back."""
    before = cursor(request.args.get("before"), request.args.get("before_id"))
    page = await sidebar_page(request.args.get("current", type=parse_id), before)
    return await render("conversations/list.html", "items", **page)


@bp.get("/chats/search")
@signed_in_only
async def search() -> Response:
    """The visitor's chats whose title or text holds the words typed, as the sidebar; empty: the sidebar."""
    query = (request.args.get("q") or "").strip()
    current = request.args.get("current", type=parse_id)
    if not query:
        return await render("conversations/list.html", "sidebar", **await sidebar_page(current))
    found = await chat_search.find(get_db(), owner(), query, SEARCH_RESULTS)
    return await render("conversations/list.html", "sidebar", query=query, found=found, current=current)


async def sidebar_page(current: int | None, before: tuple[str, int] | None = None) -> dict[str, Any]:
    """The visitor's sidebar for `conversations/_sidebar.html`: pinned chats, folders, a page of the rest.

    From the top (no `before`) all of it comes in one query, the current chat's folder open;
    further pages are of the chats in no folder.
    """
    db = get_db()
    folders: list[Row] = []
    pinned: list[Row] = []
    if before is None:
        parts = await conversations.sidebar(
            db, owner(), current, PAGE_SIZE + 1, MAX_PINS, IN_FOLDER + 1, MAX_FOLDERS
        )
        rows, pinned = parts["recent"], parts["pinned"]
        opened = parts["opened"]
        for folder in parts["folder"]:
            shown = opened if opened and opened[0]["folder_id"] == folder["id"] else None
            folders.append(_folder(folder["id"], folder["title"], shown))
    else:
        rows = await conversations.page(db, owner(), before, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    older = None
    if more:
        last = rows[-1]
        older = {"before": keyset_time(last["updated_at"]), "before_id": last["id"]}
    # A person's API calls stay out of the list; one link leads to them all.
    user = current_user()
    api_calls = user is not None and before is None and await api_keys.any_of(db, user["id"])
    return {
        "conversations": rows,
        "pinned": pinned,
        "folders": folders,
        "current": current,
        "older": older,
        "api_calls": api_calls,
        "paging": before is not None,
    }


def _folder(folder_id: int, name: str, chats: list[Row] | None) -> Row:
    """A folder as the sidebar shows it: its chats when open (None: closed), and whether it holds more."""
    more = chats is not None and len(chats) > IN_FOLDER
    return {"id": folder_id, "name": name, "chats": chats[:IN_FOLDER] if chats else chats, "more": more}


async def folder_items(folder_id: int, name: str) -> Row:
    """A folder of the sidebar, opened: its unpinned chats, most recent first."""
    chats = await conversations.listed(get_db(), owner(), folder_id, None, IN_FOLDER + 1)
    return _folder(folder_id, name, chats)


@bp.post("/c/<int:conversation_id>/pin")
@signed_in_only
async def pin(conversation_id: int) -> ResponseReturnValue:
    """Pin a chat to the top of the sidebar (pin=1), or unpin it (pin=0)."""
    form = await request.form
    pinned = form.get("pin") == "1"
    limit = MAX_PINS

    async def pin_it(tx: Executor) -> bool:
        if pinned and await conversations.pinned_count(tx, owner()) >= limit:
            found = await conversations.get(tx, conversation_id, owner())
            if found is not None and found["pinned_at"] is None:
                raise Invalid(messages.too_many_pins(limit))
        return await conversations.pin(tx, conversation_id, owner(), pinned)

    if not await get_db().transact(pin_it):
        raise NotFound(messages.NOT_YOURS)
    return await sidebar_changed(form.get("back"), conversation_id)


@bp.get("/c/<int:conversation_id>/folder")
@signed_in_only
async def folder_choice(conversation_id: int) -> Response:
    """The page for putting a chat in one of the visitor's folders, or out of any."""
    db = get_db()
    found = await conversations.get(db, conversation_id, owner())
    if found is None:
        raise NotFound(messages.NOT_YOURS)
    back = return_address(request.args.get("back")) or url_for("chat.show", conversation_id=conversation_id)
    return await render(
        "conversations/move.html",
        conversation=found,
        folders=await folder_rows.of_owner(db, owner()),
        back=back,
    )


@bp.post("/c/<int:conversation_id>/folder")
@signed_in_only
async def move(conversation_id: int) -> ResponseReturnValue:
    """Put a chat in one of the visitor's folders (`folder`), or out of any (empty)."""
    form = await request.form
    folder_id = parse_id(form.get("folder"))
    if form.get("folder") and folder_id is None:
        raise NotFound(messages.NOT_YOUR_FOLDER)

    async def move_it(tx: Executor) -> bool:
        if folder_id is not None and await folder_rows.get(tx, folder_id, owner()) is None:
            raise NotFound(messages.NOT_YOUR_FOLDER)
        return await conversations.move(tx, conversation_id, owner(), folder_id)

    if not await get_db().transact(move_it):
        raise NotFound(messages.NOT_YOURS)
    return await sidebar_changed(form.get("back"), conversation_id)


async def sidebar_changed(back: str | None, conversation_id: int | None = None) -> ResponseReturnValue:
    """After a change to the sidebar: htmx gets it anew, anyone else goes back (303)."""
    if not is_htmx():
        fallback = (
            url_for("chat.show", conversation_id=conversation_id)
            if conversation_id
            else url_for("chat.index")
        )
        return redirect(return_address(back) or fallback, 303)
    return await render("conversations/list.html", "sidebar", **await sidebar_page(current_from_page()))


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


def cursor(updated_at: str | None, conversation_id: str | None) -> tuple[str, int] | None:
    """Read a keyset cursor from the query string; a malformed one starts from the top."""
    last_id = parse_id(conversation_id)
    if not updated_at or last_id is None:
        return None
    try:
        moment = as_datetime(updated_at)
    except ValueError:
        return None
    return (keyset_time(moment), last_id) if moment else None


def keyset_time(value: object) -> str:
    """A chat's time as a keyset cursor holds it."""
    moment = as_datetime(value)
    assert moment is not None
    return moment.strftime(TIME_FORMAT)
