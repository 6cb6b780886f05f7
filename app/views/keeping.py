"""Keeping a chat out of RETENTION_DAYS' reach."""

from __future__ import annotations

from quart import Blueprint, abort, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import NotFound
from ..config import current_config
from ..people.access import signed_in_only
from ..people.identity import owner
from ..storage import conversations, get_db
from ..web.addresses import return_address
from ..web.htmx import is_htmx, render
from .conversations import current_from_page

bp = Blueprint("keeping", __name__)


@bp.post("/c/<int:conversation_id>/keep")
@signed_in_only
async def keep(conversation_id: int) -> ResponseReturnValue:
    """Keep a chat however old it gets (keep=1), or let retention take it again (keep=0)."""
    if not current_config().retention_days:
        abort(404)
    form = await request.form
    kept = form.get("keep") == "1"
    db = get_db()
    result = await db.execute(
        "UPDATE conversations SET keep = :keep WHERE id = :id AND owner = :owner AND deleted_at IS NULL",
        {"keep": int(kept), "id": conversation_id, "owner": owner()},
    )
    conversation = await conversations.get(db, conversation_id, owner())
    if conversation is None or result.rowcount == 0 and conversation["keep"] != int(kept):
        raise NotFound(messages.NOT_YOURS)
    if not is_htmx():
        return redirect(
            return_address(form.get("back")) or url_for("chat.show", conversation_id=conversation_id), 303
        )
    # The chat on screen stays marked as such.
    return await render(
        "conversations/list.html", "renamed", conversation=conversation, current=current_from_page()
    )
