"""The admin pages: people (disable, promote, erase) and the audit trail; 404 for anyone else."""

from __future__ import annotations

from quart import Blueprint, Response, abort, redirect, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..answers import get_answers
from ..people import api_keys
from ..people.access import admin_only
from ..people.identity import current_user
from ..storage import Executor, Row, audit, get_db, invitations, preferences, retention, sessions, users
from ..storage import api_keys as stored_keys
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
    """List every account."""
    return await _people_page()


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
    ended = await db.transact(lambda tx: _change(tx, user_id, action))
    if action == "disable":
        # Their answers being written stop too; their streams end saying why.
        await get_answers().stop_all(user["owner"])
    await audit.record(
        db,
        ACTIONS[action],
        actor_id=me["id"],
        subject=user["username"],
        address=current_client(),
        detail=f"{ended} links ended" if ended else "",
    )
    return redirect(url_for("admin.people"), 303)


async def _change(tx: Executor, user_id: int, action: str) -> int:
    """Apply an action; return how many links it ended (a disabled person's, a former admin's)."""
    if action in ("disable", "enable"):
        await users.set_disabled(tx, user_id, action == "disable")
    else:
        await users.set_role(tx, user_id, "admin" if action == "promote" else "user")
    if action == "disable":
        await sessions.end_user(tx, user_id)
        return await invitations.end_for(tx, user_id) + await invitations.end_by(tx, user_id)
    if action == "demote":
        return await invitations.end_by(tx, user_id)
    return 0


@bp.post("/users/<int:user_id>/erase")
@admin_only
async def erase(user_id: int) -> ResponseReturnValue:
    """Erase everything of a user: chats, questions, answers, sessions, settings and links, the account
    itself, and their personal data in the audit trail (which keeps what happened)."""
    user = await _account(user_id)
    me, db = _me(), get_db()
    if user["id"] == me["id"]:
        abort(422, messages.OWN_ACCOUNT_ERASE)
    if (await request.form).get("confirmed") != "yes":
        return await render("admin/erase.html", person=user)
    gone = await retention.erase_owner(db, user["owner"])
    await db.transact(lambda tx: _forget(tx, user))
    await audit.record(
        db,
        "erased",
        actor_id=me["id"],
        subject=f"#{user_id}",
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


async def _forget(tx: Executor, user: Row) -> None:
    """Delete what is left of a person once their chats are gone: settings, links, personal audit data."""
    await preferences.forget(tx, user["owner"])
    await invitations.forget(tx, user["id"])
    await audit.forget(tx, user["id"], user["username"] or "")
    await tx.execute("DELETE FROM users WHERE id = :id", {"id": user["id"]})


@bp.get("/audit")
@admin_only
async def trail() -> Response:
    """List the audit trail, newest first; `before` pages further back."""
    before = request.args.get("before", type=parse_id)
    rows = await audit.page(get_db(), before, AUDIT_PAGE + 1)
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    return await render("admin/audit.html", "lines", lines=rows, next_before=rows[-1]["id"] if more else None)


async def _people_page() -> Response:
    return await render("admin/users.html", people=await users.accounts(get_db()), me=_me())


async def _account(user_id: int) -> dict:
    user = await users.by_id(get_db(), user_id)
    if user is None or user["kind"] == "anonymous":
        abort(404)
    return user


def _me() -> dict:
    me = current_user()
    assert me is not None
    return me
