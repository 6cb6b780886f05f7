"""Signing in and out: past the shared password gate, or as an account."""

from __future__ import annotations

import hmac
import logging
from dataclasses import asdict

from quart import Blueprint, abort, redirect, render_template, request, session, url_for
from quart.typing import ResponseReturnValue

from .. import messages
from ..config import current_config
from ..people import groups, oidc, throttle
from ..people.access import public, signed_in_only
from ..people.accounts import sign_up_open, username_key
from ..people.identity import external_person, password_matches, sign_in, sign_out, signed_in
from ..people.passwords import verify
from ..storage import audit, get_db, users
from ..web.addresses import return_address
from ..web.limits import TooMany, current_client, limited_by

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


@bp.get("/login")
@public
async def login_form() -> ResponseReturnValue:
    """Show the sign-in form (or go straight in when there is nothing to sign in to)."""
    target = _next(request.args.get("next"))
    if current_config().sign_in_mode == "none" or signed_in():
        return redirect(target)
    return await _form(target)


@bp.post("/login")
@public
@limited_by("login_rate", "sign in")
async def login() -> ResponseReturnValue:
    """Check the password (of the gate or of an account); on success start a fresh session and go on."""
    form = await request.form
    target = _next(form.get("next"))
    config = current_config()
    if config.sign_in_mode == "none":
        return redirect(target, 303)
    if config.sign_in_mode in ("oidc", "proxy"):
        abort(404)
    if config.passwords:
        return await _account_login(form.get("username", ""), form.get("password", ""), target)
    if not password_matches(form.get("password", "")):
        return await _form(target, messages.WRONG_PASSWORD), 401
    await sign_in()
    return redirect(target, 303)


@bp.get("/login/oidc")
@public
async def oidc_start() -> ResponseReturnValue:
    """Send the browser to the OpenID provider, remembering this attempt's state, nonce and PKCE verifier."""
    if current_config().sign_in_mode != "oidc":
        abort(404)
    attempt = oidc.Attempt.new()
    session["oidc"] = {**asdict(attempt), "next": _next(request.args.get("next"))}
    try:
        return redirect(await oidc.provider().authorization_url(attempt, _callback_url()))
    except oidc.SignInFailed as failure:
        log.warning("OpenID sign-in could not start: %s", failure)
        abort(502, messages.PROVIDER_AWAY)


@bp.get("/login/oidc/callback")
@public
async def oidc_callback() -> ResponseReturnValue:
    """Back from the provider: check the state, trade the code, sign in as the person its ID token names."""
    config = current_config()
    if config.sign_in_mode != "oidc":
        abort(404)
    kept = session.pop("oidc", None)
    state = request.args.get("state", "")
    if not isinstance(kept, dict) or not hmac.compare_digest(str(kept.get("state", "")), state):
        return await _form(url_for("chat.index"), messages.SIGN_IN_AGAIN), 400
    target = kept["next"]
    code = request.args.get("code")
    if not code:
        return await _form(target, messages.SIGN_IN_AGAIN), 400
    attempt = oidc.Attempt(kept["state"], kept["nonce"], kept["verifier"])
    try:
        identity = await oidc.provider().identity(attempt, code, _callback_url())
    except oidc.SignInFailed as failure:
        log.warning("OpenID sign-in refused: %s", failure)
        await audit.record(get_db(), audit.SIGN_IN_FAILED, detail="oidc", address=current_client())
        return await _form(target, messages.SIGN_IN_AGAIN), 400
    user = await external_person(
        "oidc", identity.subject, identity.name, identity.email, identity.email_verified
    )
    if user["disabled_at"] is not None:
        await audit.record(get_db(), audit.SIGN_IN_FAILED, subject=user["username"], address=current_client())
        return await _form(target, messages.WRONG_SIGN_IN), 403
    if (claimed := identity.groups) is not None:
        await get_db().transact(lambda tx: groups.sync_claimed(tx, user, claimed))
    await sign_in(user)
    await audit.record(
        get_db(),
        audit.SIGNED_IN,
        actor_id=user["id"],
        subject=user["username"],
        address=current_client(),
        detail="oidc",
    )
    return redirect(target, 303)


@bp.post("/logout")
@signed_in_only
async def logout() -> ResponseReturnValue:
    """End this browser's session on the server; it (and any copy of its cookie) must sign in again."""
    await sign_out()
    return redirect(url_for("auth.login_form"), 303)


async def _account_login(name: str, password: str, target: str) -> ResponseReturnValue:
    """Sign in as an account; every refusal reads the same, whether or not the name exists."""
    db, config = get_db(), current_config()
    username, address = username_key(name), current_client()
    if wait := await throttle.sign_in_wait(db, username, address, config.login_account_rate):
        raise TooMany(wait[1], wait[0])
    user = await users.by_username(db, username)
    matches = await verify(user["password_hash"] if user else None, password)
    if user is None or not matches or user["disabled_at"] is not None:
        await throttle.sign_in_failed(db, username, address)
        return await _form(target, messages.WRONG_SIGN_IN, username=name), 401
    await sign_in(user)
    await audit.record(db, audit.SIGNED_IN, actor_id=user["id"], subject=username, address=address)
    return redirect(target, 303)


async def _form(target: str, error: str | None = None, username: str = "") -> str:
    open_ = current_config().sign_in_mode == "accounts" and await sign_up_open()
    return await render_template(
        "auth/login.html", next=target, error=error, username=username, sign_up_open=open_
    )


def _callback_url() -> str:
    return url_for("auth.oidc_callback", _external=True)


def _next(target: str | None) -> str:
    """A same-site path to return to after signing in; anything else means the chat page."""
    return return_address(target) or url_for("chat.index")
