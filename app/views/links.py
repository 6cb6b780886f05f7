"""Invitation and reset links for admins: made by a POST that leads to the list, shown once, revoked."""

from __future__ import annotations

import re
import secrets

from quart import Blueprint, Response, abort, redirect, request, session, url_for
from quart.typing import ResponseReturnValue

from ..config import current_config
from ..people.access import admin_only
from ..people.accounts import invitation_token, shown_again
from ..people.identity import current_user
from ..storage import audit, get_db, groups, invitations, users
from ..web.htmx import is_htmx, render
from ..web.ids import parse_id
from ..web.limits import current_client

bp = Blueprint("links", __name__, url_prefix="/admin")

# Carried from the POST that made a link to the list that shows it, then dropped: the token is
# stored only as a digest, so this one showing is the only one.
NEW_LINK = "new_link"
LINK_ID = re.compile(r"[0-9a-f]{64}")


@bp.before_request
async def _only_with_passwords() -> None:
    if not current_config().passwords:
        abort(404)


@bp.get("/links")
@admin_only
async def live_links() -> Response:
    """List the links nobody has used yet, each invitation's address to copy, the one just made on top."""
    new = session.pop(NEW_LINK, None)
    links = await invitations.live(get_db())
    for link in links:
        token = shown_again(link)
        link["url"] = url_for("accounts.link_form", token=token, _external=True) if token else None
    return await render(
        "admin/links.html",
        links=links,
        new=new if isinstance(new, dict) else None,
        groups=await groups.every(get_db()),
    )


@bp.post("/users/invite")
@admin_only
async def invite() -> ResponseReturnValue:
    """Make an invitation link for a new account (joining a group when one is picked), then list it."""
    if current_config().sign_up == "closed":
        abort(404)
    db, me = get_db(), _me()
    group_id = parse_id((await request.form).get("group"))
    group = await groups.by_id(db, group_id) if group_id is not None else None
    seed = secrets.token_urlsafe(32)
    token = invitation_token(seed)
    await invitations.create(db, token, me["id"], seed=seed, group_id=group["id"] if group else None)
    await audit.record(
        db, "invited", actor_id=me["id"], address=current_client(), detail=group["name"] if group else ""
    )
    return _show_once(token, "")


@bp.post("/users/<int:user_id>/reset")
@admin_only
async def reset(user_id: int) -> ResponseReturnValue:
    """Make a link that sets a new password for a user (ending the older ones), then show it on the list."""
    user = await users.by_id(get_db(), user_id)
    if user is None or user["kind"] != "local":
        abort(404)
    token = secrets.token_urlsafe(32)
    db, me = get_db(), _me()
    await db.transact(lambda tx: invitations.create(tx, token, me["id"], user_id))
    await audit.record(
        db, "reset link made", actor_id=me["id"], subject=user["username"], address=current_client()
    )
    return _show_once(token, user["username"])


@bp.post("/links/<link_id>/revoke")
@admin_only
async def revoke(link_id: str) -> ResponseReturnValue:
    """End a link nobody has used; htmx loses its row, a plain form comes back to the list."""
    db, me = get_db(), _me()
    link = await invitations.revoke(db, link_id) if LINK_ID.fullmatch(link_id) else None
    if link is None:
        abort(404)
    await audit.record(
        db,
        "link revoked",
        actor_id=me["id"],
        subject=link["person"] or "",
        address=current_client(),
        detail="reset" if link["person"] else "invitation",
    )
    return Response("", 200) if is_htmx() else redirect(url_for("links.live_links"), 303)


def _show_once(token: str, person: str) -> ResponseReturnValue:
    session[NEW_LINK] = {"url": url_for("accounts.link_form", token=token, _external=True), "for": person}
    return redirect(url_for("links.live_links"), 303)


def _me() -> dict:
    me = current_user()
    assert me is not None
    return me
