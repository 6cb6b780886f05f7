"""Accounts: signing up, invitation and reset links, and a person's own account page."""

from __future__ import annotations

import re
import unicodedata

from quart import Blueprint, Response, abort, redirect, render_template, request, url_for

from .. import messages
from ..config import current_config
from ..people.access import public, signed_in_only
from ..people.identity import current_user, session_token, sign_in
from ..people.passwords import hash_password, verify, weakness
from ..storage import Executor, audit, get_db, invitations, sessions, users
from ..web.limits import current_client, limited_by

bp = Blueprint("accounts", __name__)

NAME = re.compile(r"[a-z0-9._-]{3,32}")


class Refusal(Exception):
    """A form that cannot be accepted, with what to tell the person."""


@bp.before_request
async def _only_with_accounts() -> None:
    if not current_config().accounts:
        abort(404)


def _passwords_kept_here() -> None:
    """Signing up, links and new passwords exist only where passwords are kept here (not OpenID, a proxy)."""
    if not current_config().passwords:
        abort(404)


def username_key(name: str) -> str:
    """A name as it is stored and looked up: compatibility-normalised and case-folded."""
    return unicodedata.normalize("NFKC", name).strip().casefold()[:64]


@bp.get("/signup")
@public
async def sign_up_form() -> str:
    """Show the form that makes an account (when anyone may make one)."""
    _passwords_kept_here()
    return await _sign_up_page(await _sign_up_open())


@bp.post("/signup")
@public
@limited_by("login_rate")
async def sign_up() -> Response | tuple[str, int]:
    """Make an account and sign in as it; the first account is an admin."""
    _passwords_kept_here()
    if not await _sign_up_open():
        return await _sign_up_page(False, messages.SIGN_UP_CLOSED), 403
    form = await request.form
    try:
        user = await _new_account(form.get("username", ""), form.get("password", ""), form.get("again", ""))
    except Refusal as refusal:
        return await _sign_up_page(True, str(refusal), form.get("username", "")), 422
    await sign_in(user)
    return redirect(url_for("chat.index"), 303)


@bp.get("/link/<token>")
@public
async def link_form(token: str) -> tuple[str, int] | str:
    """Show what an invitation or reset link offers: a new account, or a new password."""
    _passwords_kept_here()
    link = await _usable_link(token)
    if link is None:
        return await _link_page(token, None, messages.LINK_SPENT), 404
    return await _link_page(token, link)


@bp.post("/link/<token>")
@public
@limited_by("login_rate")
async def use_link(token: str) -> Response | tuple[str, int]:
    """Spend a link: make the invited account, or set the user's new password (ending their sessions)."""
    _passwords_kept_here()
    link = await _usable_link(token)
    if link is None:
        return await _link_page(token, None, messages.LINK_SPENT), 404
    form = await request.form
    password, again = form.get("password", ""), form.get("again", "")
    try:
        if link["user_id"] is None:
            user = await _new_account(form.get("username", ""), password, again, token)
        else:
            user = await _reset(link["user_id"], password, again, token)
    except Refusal as refusal:
        return await _link_page(token, link, str(refusal), form.get("username", "")), 422
    await sign_in(user)
    return redirect(url_for("chat.index"), 303)


@bp.get("/account")
@signed_in_only
async def account() -> str:
    """Show the signed-in person's account: their name, role, and a form to change the password."""
    return await render_template("accounts/account.html", user=_me())


@bp.post("/account/password")
@signed_in_only
async def change_password() -> Response | tuple[str, int]:
    """Change the password after checking the current one; every other session of the account ends."""
    _passwords_kept_here()
    me, db = _me(), get_db()
    form = await request.form
    stored = await users.by_username(db, me["username"])
    assert stored is not None
    refusal = None
    if not await verify(stored["password_hash"], form.get("current", "")):
        refusal = messages.CURRENT_PASSWORD_WRONG
    else:
        refusal = _password_refusal(form.get("password", ""), form.get("again", ""))
    if refusal:
        return await render_template("accounts/account.html", user=me, error=refusal), 422
    await users.set_password(db, me["id"], await hash_password(form["password"]))
    await sessions.end_user(db, me["id"], keep=session_token())
    await audit.record(
        db, audit.PASSWORD_CHANGED, actor_id=me["id"], subject=me["username"], address=current_client()
    )
    return await render_template(
        "accounts/account.html", user=me, done="Password changed; other browsers are signed out."
    )


@bp.post("/account/sessions/end")
@signed_in_only
async def end_other_sessions() -> str:
    """Sign this account out of every other browser."""
    me = _me()
    await sessions.end_user(get_db(), me["id"], keep=session_token())
    return await render_template("accounts/account.html", user=me, done="Every other browser is signed out.")


def _me() -> dict:
    user = current_user()
    if user is None:
        abort(404)
    return user


async def _usable_link(token: str) -> dict | None:
    """A live link; with SIGN_UP=closed, only one that resets a password."""
    link = await invitations.find(get_db(), token)
    if link is None or (link["user_id"] is None and current_config().sign_up == "closed"):
        return None
    return link


async def _sign_up_open() -> bool:
    """Whether anyone may make an account: SIGN_UP=open, or nobody has one yet (the first is the admin)."""
    return current_config().sign_up == "open" or not await users.accounts_exist(get_db())


async def _new_account(name: str, password: str, again: str, token: str | None = None) -> dict:
    """Store a new account (spending an invitation when given); the first account is an admin."""
    username = username_key(name)
    if not NAME.fullmatch(username):
        raise Refusal(messages.BAD_NAME)
    if refusal := _password_refusal(password, again):
        raise Refusal(refusal)
    password_hash = await hash_password(password)

    async def store(tx: Executor) -> dict | None:
        if await users.by_username(tx, username) is not None:
            return None
        if token is not None and not await invitations.use(tx, token):
            raise Refusal(messages.LINK_SPENT)
        role = "user" if await users.accounts_exist(tx) else "admin"
        return await users.create_account(tx, username, password_hash, role)

    user = await get_db().transact(store)
    if user is None:
        raise Refusal(messages.NAME_TAKEN)
    await audit.record(
        get_db(), audit.SIGNED_UP, actor_id=user["id"], subject=username, address=current_client()
    )
    return user


async def _reset(user_id: int, password: str, again: str, token: str) -> dict:
    """Set a user's password from a reset link, ending every session they had."""
    if refusal := _password_refusal(password, again):
        raise Refusal(refusal)
    password_hash = await hash_password(password)
    db = get_db()

    async def store(tx: Executor) -> dict | None:
        if not await invitations.use(tx, token):
            raise Refusal(messages.LINK_SPENT)
        await users.set_password(tx, user_id, password_hash)
        await sessions.end_user(tx, user_id)
        return await users.by_id(tx, user_id)

    user = await db.transact(store)
    if user is None or user["disabled_at"] is not None:
        raise Refusal(messages.LINK_SPENT)
    await audit.record(
        db,
        audit.PASSWORD_CHANGED,
        actor_id=user["id"],
        subject=user["username"] or "",
        address=current_client(),
    )
    return user


def _password_refusal(password: str, again: str) -> str | None:
    if password != again:
        return messages.PASSWORDS_DIFFER
    return weakness(password)


async def _sign_up_page(open_: bool, error: str | None = None, username: str = "") -> str:
    return await render_template("accounts/sign_up.html", open=open_, error=error, username=username)


async def _link_page(token: str, link: dict | None, error: str | None = None, username: str = "") -> str:
    return await render_template("accounts/link.html", token=token, link=link, error=error, username=username)
