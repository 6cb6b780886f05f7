"""Accounts: signing up, invitation and reset links, and a person's own account page."""

from __future__ import annotations

from quart import Blueprint, Response, abort, redirect, render_template, request, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..config import current_config
from ..people import accounts, api_keys
from ..people.access import public, signed_in_only
from ..people.identity import current_user, session_token, sign_in
from ..storage import api_keys as stored_keys
from ..storage import get_db, sessions
from ..web.limits import TooMany, current_client, limited_by

bp = Blueprint("accounts", __name__)


@bp.before_request
async def _only_with_accounts() -> None:
    if not current_config().accounts:
        abort(404)


def _passwords_kept_here() -> None:
    """Signing up, links and new passwords exist only where passwords are kept here (not OpenID, a proxy)."""
    if not current_config().passwords:
        abort(404)


@bp.get("/signup")
@public
async def sign_up_form() -> str:
    """Show the form that makes an account (when anyone may make one)."""
    _passwords_kept_here()
    return await _sign_up_page(await accounts.sign_up_open())


@bp.post("/signup")
@public
@limited_by("login_rate")
async def sign_up() -> ResponseReturnValue:
    """Make an account and sign in as it; the first account is an admin."""
    _passwords_kept_here()
    if not await accounts.sign_up_open():
        return await _sign_up_page(False, messages.SIGN_UP_CLOSED), 403
    form = await request.form
    try:
        user = await accounts.new_account(
            form.get("username", ""), form.get("password", ""), form.get("again", ""), current_client()
        )
    except accounts.Closed:
        return await _sign_up_page(False, messages.SIGN_UP_CLOSED), 403
    except accounts.Refusal as refusal:
        return await _sign_up_page(True, str(refusal), form.get("username", "")), 422
    await sign_in(user)
    return redirect(url_for("chat.index"), 303)


@bp.get("/link/<token>")
@public
async def link_form(token: str) -> tuple[str, int] | str:
    """Show what an invitation or reset link offers: a new account, or a new password."""
    _passwords_kept_here()
    link = await accounts.usable_link(token)
    if link is None:
        return await _link_page(token, None, messages.LINK_SPENT), 404
    return await _link_page(token, link)


@bp.post("/link/<token>")
@public
@limited_by("login_rate")
async def use_link(token: str) -> ResponseReturnValue:
    """Spend a link: make the invited account, or set the user's new password (ending their sessions)."""
    _passwords_kept_here()
    link = await accounts.usable_link(token)
    if link is None:
        return await _link_page(token, None, messages.LINK_SPENT), 404
    form = await request.form
    password, again = form.get("password", ""), form.get("again", "")
    try:
        if link["user_id"] is None:
            user = await accounts.new_account(
                form.get("username", ""), password, again, current_client(), token
            )
        else:
            user = await accounts.reset_password(link["user_id"], password, again, token, current_client())
    except accounts.Refusal as refusal:
        return await _link_page(token, link, str(refusal), form.get("username", "")), 422
    await sign_in(user)
    return redirect(url_for("chat.index"), 303)


@bp.get("/account")
@signed_in_only
async def account() -> str:
    """Show the signed-in person's account: their name, role, password form and API keys."""
    return await _account_page(_me())


@bp.post("/account/keys")
@signed_in_only
async def make_key() -> Response | tuple[str, int]:
    """Make an API key and show it, this once; only its digest is kept."""
    me = _me()
    try:
        key = await api_keys.make(
            get_db(), me, (await request.form).get("name", ""), me["id"], current_client()
        )
    except api_keys.Refusal as refusal:
        return await _account_page(me, key_error=str(refusal)), 422
    # Shown once: no cache, no history entry may keep it.
    response = Response(await _account_page(me, new_key=key))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/account/keys/<int:key_id>/revoke")
@signed_in_only
async def revoke_key(key_id: int) -> ResponseReturnValue:
    """Revoke one of the person's own API keys: it stops working at once."""
    me = _me()
    if not await api_keys.revoke(get_db(), key_id, me["id"], me["id"], current_client()):
        return await _account_page(me, key_error=messages.API_KEY_GONE), 404
    return redirect(url_for("accounts.account", _anchor="api-keys"), 303)


@bp.post("/account/password")
@signed_in_only
async def change_password() -> ResponseReturnValue:
    """Change the password after checking the current one; every other session of the account ends."""
    _passwords_kept_here()
    me = _me()
    form = await request.form
    try:
        await accounts.change_password(
            me,
            form.get("current", ""),
            form.get("password", ""),
            form.get("again", ""),
            session_token(),
            current_client(),
        )
    except accounts.Wait as wait:
        raise TooMany(wait.seconds, "change the password") from None
    except accounts.Refusal as refusal:
        return await _account_page(me, error=str(refusal)), 422
    return await _account_page(me, done=messages.PASSWORD_CHANGED)


@bp.post("/account/sessions/end")
@signed_in_only
async def end_other_sessions() -> str:
    """Sign this account out of every other browser."""
    me = _me()
    await sessions.end_user(get_db(), me["id"], keep=session_token())
    return await _account_page(me, done=messages.OTHERS_SIGNED_OUT)


async def _account_page(me: dict, **shown: object) -> str:
    keys = await stored_keys.of_user(get_db(), me["id"])
    return await render_template("accounts/account.html", user=me, keys=keys, **shown)


def _me() -> dict:
    user = current_user()
    if user is None:
        abort(404)
    return user


async def _sign_up_page(open_: bool, error: str | None = None, username: str = "") -> str:
    return await render_template("accounts/sign_up.html", open=open_, error=error, username=username)


async def _link_page(token: str, link: dict | None, error: str | None = None, username: str = "") -> str:
    return await render_template("accounts/link.html", token=token, link=link, error=error, username=username)
