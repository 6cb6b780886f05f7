"""Sharing a chat: read-only copies of the branch on screen at unguessable addresses, and it as Markdown."""

from __future__ import annotations

import secrets

from quart import Blueprint, Response, abort, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import NotFound
from ..answers.branches import branch
from ..config import current_config
from ..people.access import SignInFirst, public, signed_in_only
from ..people.identity import current_user, owner, signed_in
from ..rendering import transcript
from ..storage import Executor, Row, attachments, audit, conversations, exchanges, feedback, get_db, shares
from ..storage.status import FINISHED
from ..web.htmx import render
from ..web.ids import parse_id
from ..web.limits import current_client, limited_by

bp = Blueprint("shares", __name__)

# A shared copy or a download holds at most this many exchanges: the newest of the branch.
MOST_EXCHANGES = 500
TOKEN_BYTES = 24


class Refusal(Exception):
    """A link that cannot be made, and why, in words for the person sharing."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@bp.get("/c/<int:conversation_id>/share")
@signed_in_only
async def sharing(conversation_id: int) -> Response:
    """What a link would show (the branch on screen), the open links, and the Markdown download."""
    conversation = await _own(conversation_id)
    return await _manage(conversation, request.args.get("leaf", type=parse_id))


@bp.post("/c/<int:conversation_id>/share")
@signed_in_only
@limited_by("share_rate", "share")
async def share(conversation_id: int) -> ResponseReturnValue:
    """Make a link to a copy of the branch on screen as it is now, for teammates or for anyone."""
    conversation = await _own(conversation_id)
    form = await request.form
    leaf = parse_id(form.get("leaf"))
    audience = form.get("audience") or shares.TEAMMATES
    copy = [
        # Files are not shared: the copy names them only.
        row | {"files": "\n".join(file["name"] for file in row["files"])}
        for row in await _branch(conversation_id, leaf)
        if row["status"] in FINISHED
    ]
    try:
        if audience not in shares.AUDIENCES or (audience == shares.ANYONE and not _public_allowed()):
            raise Refusal(messages.PUBLIC_SHARES_OFF, 422)
        if not copy:
            raise Refusal(messages.NOTHING_TO_SHARE, 422)
        title = await _shared_title(conversation, copy)
        await get_db().transact(lambda tx: _make(tx, conversation_id, audience, title, copy))
    except Refusal as refused:
        return await _manage(conversation, leaf, str(refused), refused.status)
    return redirect(url_for("shares.sharing", conversation_id=conversation_id, leaf=leaf), 303)


@bp.post("/s/<token>/revoke")
@signed_in_only
async def revoke(token: str) -> ResponseReturnValue:
    """Close a link for good: it answers 404 from now on."""
    link = await get_db().transact(lambda tx: _close(tx, token))
    if link is None:
        raise NotFound(messages.NOT_YOURS)
    return redirect(url_for("shares.sharing", conversation_id=link["conversation_id"]), 303)


@bp.get("/s/<token>")
@public
async def shared(token: str) -> Response:
    """The shared copy, read-only, for whom its link was made; kept out of search engines."""
    found = await shares.get(get_db(), token) if len(token) <= 64 else None
    if found is None:
        abort(404, messages.SHARE_GONE)
    audience = _effective(found["audience"])
    if audience != shares.ANYONE and current_config().sign_in_mode != "none" and not signed_in():
        # A link for teammates: sign in, and come back to it.
        raise SignInFirst()
    response = await render(
        "shares/show.html",
        title=found["title"],
        exchanges=await shares.exchanges_of(get_db(), found["snapshot_id"]),
        shared_at=found["created_at"],
        shared_for=messages.share_audience(audience, current_config().sign_in_mode),
    )
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/c/<int:conversation_id>/export.md")
@signed_in_only
async def export_markdown(conversation_id: int) -> Response:
    """Download the branch on screen as one Markdown file, in order, with how each answer ended."""
    conversation = await _own(conversation_id)
    rows = await _branch(conversation_id, request.args.get("leaf", type=parse_id))
    given = await feedback.of_exchanges(get_db(), [row["id"] for row in rows])
    for row in rows:
        row["feedback"] = given.get(row["id"])
    body = await transcript.markdown_off_the_loop(conversation["title"], rows)
    response = Response(body, content_type="text/markdown; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="chat-{conversation_id}.md"'
    return response


async def _manage(
    conversation: Row, leaf: int | None, error: str | None = None, status: int = 200
) -> Response:
    shown = await _branch(conversation["id"], leaf)
    links = await shares.of_conversation(get_db(), conversation["id"], owner())
    for link in links:
        link["shown_for"] = _effective(link["audience"])
    return await render(
        "shares/manage.html",
        status=status,
        conversation=conversation,
        links=links,
        shown=[row for row in shown if row["status"] in FINISHED],
        leaf=leaf,
        public_allowed=_public_allowed(),
        sign_in=current_config().sign_in_mode,
        error=error,
    )


async def _make(tx: Executor, conversation_id: int, audience: str, title: str, copy: list[Row]) -> None:
    """Count the open links and make one more, the chat held so that two at once cannot pass a cap."""
    config = current_config()
    await shares.hold(tx, conversation_id)
    here, mine = await shares.open_links(tx, conversation_id, owner())
    if here >= config.share_links_per_chat:
        raise Refusal(messages.share_links_per_chat(config.share_links_per_chat), 409)
    if mine >= config.share_links_per_person:
        raise Refusal(messages.share_links_per_person(config.share_links_per_person), 409)
    snapshot = await shares.snapshot(tx, conversation_id, title, copy)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = await shares.create(tx, token, snapshot, conversation_id, owner(), audience)
    await _audit(tx, audit.SHARED, conversation_id, f"link {link} for {audience}, {len(copy)} exchanges")


async def _close(tx: Executor, token: str) -> Row | None:
    link = await shares.find(tx, token, owner()) if len(token) <= 64 else None
    if link is None:
        return None
    await shares.hold(tx, link["conversation_id"])
    await shares.revoke(tx, link)
    await _audit(tx, audit.UNSHARED, link["conversation_id"], f"link {link['id']} for {link['audience']}")
    return link


async def _audit(tx: Executor, action: str, conversation_id: int, detail: str) -> None:
    user = current_user()
    await audit.record(
        tx,
        action,
        actor_id=user["id"] if user else None,
        subject=f"chat {conversation_id}",
        address=current_client(),
        detail=detail,
    )


async def _own(conversation_id: int) -> Row:
    conversation = await conversations.get(get_db(), conversation_id, owner())
    if conversation is None:
        raise NotFound(messages.NOT_YOURS)
    return conversation


async def _branch(conversation_id: int, leaf: int | None) -> list[Row]:
    """The exchanges on screen with `leaf` last (by default, as the chat opens), oldest first."""
    db = get_db()
    shown = branch(await exchanges.tree(db, conversation_id), leaf)
    rows = await exchanges.by_ids(db, shown.ids[-MOST_EXCHANGES:])
    attached = await attachments.of_exchanges(db, [row["id"] for row in rows])
    for row in rows:
        row["files"] = attached.get(row["id"], [])
    return rows


async def _shared_title(conversation: Row, copy: list[Row]) -> str:
    """The chat's title, unless it was taken from a first question the copy does not hold: then the copy's."""
    title = conversation["title"]
    kept = {row["id"] for row in copy}
    firsts = [row["id"] for row in await exchanges.tree(get_db(), conversation["id"]) if not row["parent_id"]]
    for first in await exchanges.by_ids(get_db(), [number for number in firsts if number not in kept]):
        if title == conversations.title_from(first["question"]):
            return conversations.title_from(copy[0]["question"])
    return title


def _public_allowed() -> bool:
    """Whether links may be opened by anyone: the operator allows it, and people sign in at all."""
    config = current_config()
    return config.public_shares and config.sign_in_mode != "none"


def _effective(audience: str) -> str:
    """Whom a link opens for now: a link for anyone is for teammates once the operator stops allowing it."""
    return shares.ANYONE if audience == shares.ANYONE and _public_allowed() else shares.TEAMMATES
