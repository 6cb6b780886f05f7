"""The visitor's folders of chats: made, opened, renamed, given instructions, deleted."""

from __future__ import annotations

from quart import Blueprint, Response, abort, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import Invalid, NotFound
from ..people.access import signed_in_only
from ..people.identity import owner
from ..storage import Executor, Row, conversations, folders, get_db
from ..storage.folders import NAME_CHARS
from ..web.addresses import return_address
from ..web.htmx import is_htmx, render
from .conversations import MAX_FOLDERS, current_from_page, cursor, folder_items, keyset_time, sidebar_changed
from .settings import MAX_INSTRUCTIONS_CHARS

bp = Blueprint("folders", __name__)

# The folder's page lists this many of its chats, most recent first, then links to the older ones.
FOLDER_PAGE = 200


@bp.get("/folders/new")
@signed_in_only
async def new() -> Response:
    """The form that makes a folder, coming back to `back` once it is made."""
    back = return_address(request.args.get("back")) or url_for("chat.index")
    return await render("folders/new.html", back=back, name_chars=NAME_CHARS)


@bp.post("/folders")
@signed_in_only
async def create() -> ResponseReturnValue:
    """Make a folder with the name typed."""
    form = await request.form
    name = _name(form.get("name"))

    async def make(tx: Executor) -> int:
        if len(await folders.of_owner(tx, owner())) >= MAX_FOLDERS:
            raise Invalid(messages.too_many_folders(MAX_FOLDERS))
        return await folders.create(tx, owner(), name)

    await get_db().transact(make)
    return await sidebar_changed(form.get("back"))


@bp.get("/folders/<int:folder_id>")
@signed_in_only
async def show(folder_id: int) -> Response:
    """A folder's page: its chats, its name and instructions to change, and deleting it."""
    found = await _own(folder_id)
    return await _folder_page(found, found["instructions"])


@bp.get("/folders/<int:folder_id>/chats")
@signed_in_only
async def chats(folder_id: int) -> Response:
    """A folder opened in the sidebar: its chats (without htmx, the folder's page)."""
    found = await _own(folder_id)
    if not is_htmx():
        return await _folder_page(found, found["instructions"])
    folder = await folder_items(folder_id, found["name"])
    return await render("folders/show.html", "sidebar_chats", folder=folder, current=current_from_page())


@bp.post("/folders/<int:folder_id>/rename")
@signed_in_only
async def rename(folder_id: int) -> ResponseReturnValue:
    """Give a folder the name typed."""
    form = await request.form
    name = _name(form.get("name"))
    if not await get_db().transact(lambda tx: folders.rename(tx, folder_id, owner(), name)):
        raise NotFound(messages.NOT_YOUR_FOLDER)
    return redirect(url_for("folders.show", folder_id=folder_id), 303)


@bp.post("/folders/<int:folder_id>/instructions")
@signed_in_only
async def instruct(folder_id: int) -> ResponseReturnValue:
    """Save the instructions every chat in the folder inherits (empty: none)."""
    found = await _own(folder_id)
    instructions = ((await request.form).get("instructions") or "").strip() or None
    if instructions and len(instructions) > MAX_INSTRUCTIONS_CHARS:
        problem = messages.instructions_too_long(MAX_INSTRUCTIONS_CHARS)
        return await _folder_page(found, instructions, problem, 422)
    if not await get_db().transact(lambda tx: folders.instruct(tx, folder_id, owner(), instructions)):
        raise NotFound(messages.NOT_YOUR_FOLDER)
    return redirect(url_for("folders.show", folder_id=folder_id, saved=1), 303)


@bp.post("/folders/<int:folder_id>/delete")
@signed_in_only
async def delete(folder_id: int) -> ResponseReturnValue:
    """Delete a folder; its chats stay, out of any folder."""
    if not await get_db().transact(lambda tx: folders.delete(tx, folder_id, owner())):
        raise NotFound(messages.NOT_YOUR_FOLDER)
    return await sidebar_changed((await request.form).get("back"))


def _name(typed: str | None) -> str:
    """A folder name as typed, its spaces tidied; refused when empty or too long."""
    name = " ".join((typed or "").split())
    if not name:
        abort(422, messages.TYPE_A_FOLDER_NAME)
    if len(name) > NAME_CHARS:
        abort(422, messages.folder_name_too_long(NAME_CHARS))
    return name


async def _own(folder_id: int) -> Row:
    found = await folders.get(get_db(), folder_id, owner())
    if found is None:
        raise NotFound(messages.NOT_YOUR_FOLDER)
    return found


async def _folder_page(
    found: Row, instructions: str | None, error: str | None = None, status: int = 200
) -> Response:
    before = cursor(request.args.get("before"), request.args.get("before_id"))
    chats = await conversations.listed(
        get_db(), owner(), found["id"], before, FOLDER_PAGE + 1, pinned_too=True
    )
    older = None
    if len(chats) > FOLDER_PAGE:
        chats = chats[:FOLDER_PAGE]
        last = chats[-1]
        older = url_for(
            "folders.show",
            folder_id=found["id"],
            before=keyset_time(last["updated_at"]),
            before_id=last["id"],
        )
    return await render(
        "folders/show.html",
        status=status,
        folder=found,
        chats=chats,
        older=older,
        instructions=instructions or "",
        error=error,
        saved=request.args.get("saved") == "1" and error is None,
        name_chars=NAME_CHARS,
        max_instructions_chars=MAX_INSTRUCTIONS_CHARS,
    )
