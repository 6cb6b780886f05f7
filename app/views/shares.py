"""Sharing a chat: read-only copies at unguessable addresses, revocable, and the chat as Markdown."""

from __future__ import annotations

import secrets

import orjson
from quart import Blueprint, Response, abort, redirect, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import NotFound
from ..people.access import signed_in_only
from ..people.identity import owner
from ..rendering import transcript
from ..storage import Row, attachments, conversations, exchanges, get_db, shares
from ..storage.status import FINISHED
from ..web.htmx import render

bp = Blueprint("shares", __name__)

# A shared copy or a download holds at most this many of the newest exchanges.
MOST_EXCHANGES = 500
TOKEN_BYTES = 24
KEPT = ("question", "answer", "status", "model", "server", "created_at", "answered_at")


@bp.get("/c/<int:conversation_id>/share")
@signed_in_only
async def sharing(conversation_id: int) -> Response:
    """The conversation's open links, a button to make one, and its Markdown download."""
    conversation = await _own(conversation_id)
    links = await shares.of_conversation(get_db(), conversation_id, owner())
    return await render("shares/manage.html", conversation=conversation, links=links)


@bp.post("/c/<int:conversation_id>/share")
@signed_in_only
async def share(conversation_id: int) -> ResponseReturnValue:
    """Make a link to a copy of the conversation as it is now."""
    conversation = await _own(conversation_id)
    finished = [
        {name: str(row[name]) if name.endswith("_at") and row[name] else row[name] for name in KEPT}
        # Files are not shared: the copy names them only.
        | {"files": [file["name"] for file in row["files"]]}
        for row in await _exchanges(conversation_id)
        if row["status"] in FINISHED
    ]
    token = secrets.token_urlsafe(TOKEN_BYTES)
    snapshot = orjson.dumps(finished).decode()
    await shares.create(get_db(), token, conversation_id, owner(), conversation["title"], snapshot)
    return redirect(url_for("shares.sharing", conversation_id=conversation_id), 303)


@bp.post("/s/<token>/revoke")
@signed_in_only
async def revoke(token: str) -> ResponseReturnValue:
    """Close a link for good: it answers 404 from now on."""
    conversation_id = await shares.revoke(get_db(), token, owner())
    if conversation_id is None:
        raise NotFound(messages.NOT_YOURS)
    return redirect(url_for("shares.sharing", conversation_id=conversation_id), 303)


@bp.get("/s/<token>")
@signed_in_only
async def shared(token: str) -> Response:
    """The shared copy, read-only, for anyone with the link; kept out of search engines."""
    found = await shares.get(get_db(), token) if len(token) <= 64 else None
    if found is None:
        abort(404, messages.SHARE_GONE)
    response = await render(
        "shares/show.html",
        title=found["title"],
        exchanges=orjson.loads(found["snapshot"]),
        shared_at=found["created_at"],
    )
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/c/<int:conversation_id>/export.md")
@signed_in_only
async def export_markdown(conversation_id: int) -> Response:
    """Download the conversation as one Markdown file."""
    conversation = await _own(conversation_id)
    body = transcript.markdown(conversation["title"], await _exchanges(conversation_id))
    response = Response(body, content_type="text/markdown; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="chat-{conversation_id}.md"'
    return response


async def _own(conversation_id: int) -> Row:
    conversation = await conversations.get(get_db(), conversation_id, owner())
    if conversation is None:
        raise NotFound(messages.NOT_YOURS)
    return conversation


async def _exchanges(conversation_id: int) -> list[Row]:
    rows = await exchanges.in_conversation(get_db(), conversation_id, None, MOST_EXCHANGES)
    rows.reverse()
    attached = await attachments.of_exchanges(get_db(), [row["id"] for row in rows])
    for row in rows:
        row["files"] = attached.get(row["id"], [])
    return rows
