"""The admin pages: people (invite, disable, reset, promote) and the audit trail; 404 for anyone else."""

from __future__ import annotations

import secrets

from quart import Blueprint, Response, abort, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import get_answers
from ..config import current_config
from ..people import api_keys
from ..people.access import admin_only
from ..people.identity import current_user
from ..storage import api_keys as stored_keys
from ..storage import audit, get_db, invitations, retention, sessions, users
from ..web.htmx import render
from ..web.ids import parse_id
from ..web.limits import current_client

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE = 100
ACTIONS = {
    "disable": "disabled",
    "enable": "enabled",
    "promote": "made admin",
    "demote": "made user",
}


@bp.get("/users")
@admin_only
async def people() -> Response:
    """List every account, with a fresh link when one was just made."""
    return await _people_page()


@bp.post("/users/invite")
@admin_only
async def invite() -> Response:
    """Make an invitation link for a new account."""
    if not current_config().passwords or current_config().sign_up == "closed":
        abort(404)
    token = secrets.token_urlsafe(32)
    db, me = get_db(), _me()
    await invitations.create(db, token, me["id"])
    await audit.record(db, "invited", actor_id=me["id"], address=current_client())
    return await _people_page(link=url_for("accounts.link_form", token=token, _external=True), link_for="")


@bp.post("/users/<int:user_id>/reset")
@admin_only
async def reset(user_id: int) -> Response:
    """Make a link that sets a new password for a user."""
    if not current_config().passwords:
        abort(404)
    user = await _account(user_id)
    token = secrets.token_urlsafe(32)
    db, me = get_db(), _me()
    await invitations.create(db, token, me["id"], user_id)
    await audit.record(
        db, "reset link made", actor_id=me["id"], subject=user["username"], address=current_client()
    )
    return await _people_page(
        link=url_for("accounts.link_form", token=token, _external=True), link_for=user["username"]
    )


@bp.post("/users/<int:user_id>/<action>")
@admin_only
async def change(user_id: int, action: str) -> ResponseReturnValue:
    """Disable (signing them out and stopping their answers at once), enable, promote or demote a user."""
    if action not in ACTIONS:
        abort(404)
    user = await _account(user_id)
    me, db = _me(), get_db()
    if user["id"] == me["id"]:
        abort(422, messages.OWN_ACCOUNT_CHANGE)
    if action in ("disable", "enable"):
        await users.set_disabled(db, user_id, action == "disable")
        if action == "disable":
            await sessions.end_user(db, user_id)
            # Their answers being written stop too; their streams end saying why.
            await get_answers().stop_all(user["owner"])
    else:
        await users.set_role(db, user_id, "admin" if action == "promote" else "user")
    await audit.record(
        db, ACTIONS[action], actor_id=me["id"], subject=user["username"], address=current_client()
    )
    return redirect(url_for("admin.people"), 303)


@bp.post("/users/<int:user_id>/erase")
@admin_only
async def erase(user_id: int) -> ResponseReturnValue:
    """Erase everything of a user: every chat, question, answer and session, then the account itself."""
    user = await _account(user_id)
    me, db = _me(), get_db()
    if user["id"] == me["id"]:
        abort(422, messages.OWN_ACCOUNT_ERASE)
    if (await request.form).get("confirmed") != "yes":
        return await render("admin/erase.html", person=user)
    gone = await retention.erase_owner(db, user["owner"])
    await db.execute("DELETE FROM users WHERE id = :id", {"id": user_id})
    await audit.record(
        db,
        "erased",
        actor_id=me["id"],
        subject=user["username"],
        address=current_client(),
        detail=f"{gone} exchanges",
    )
    return redirect(url_for("admin.people"), 303)


@bp.get("/keys")
@admin_only
async def keys() -> Response:
    """List everyone's API keys, newest first."""
    return await render("admin/keys.html", keys=await stored_keys.everyone(get_db()), everyone=True)


@bp.post("/keys/<int:key_id>/revoke")
@admin_only
async def revoke_key(key_id: int) -> ResponseReturnValue:
    """Revoke anyone's API key: it stops working at once."""
    if not await api_keys.revoke(get_db(), key_id, _me()["id"], None, current_client()):
        abort(404, messages.API_KEY_GONE)
    return redirect(url_for("admin.keys"), 303)


@bp.get("/audit")
@admin_only
async def trail() -> Response:
    """List the audit trail, newest first; `before` pages further back."""
    before = request.args.get("before", type=parse_id)
    rows = await audit.page(get_db(), before, AUDIT_PAGE + 1)
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    return await render("admin/audit.html", "lines", lines=rows, next_before=rows[-1]["id"] if more else None)


async def _people_page(link: str | None = None, link_for: str | None = None) -> Response:
    return await render(
        "admin/users.html", people=await users.accounts(get_db()), me=_me(), link=link, link_for=link_for
    )


async def _account(user_id: int) -> dict:
    user = await users.by_id(get_db(), user_id)
    if user is None or user["kind"] == "anonymous":
        abort(404)
    return user


def _me() -> dict:
    me = current_user()
    assert me is not None
    return me
