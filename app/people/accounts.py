"""Accounts kept here: names, new accounts (the first is an admin), invitation and reset links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from .. import messages
from ..config import current_config
from ..storage import Executor, Row, audit, get_db, groups, invitations, sessions, users
from ..storage.users import username_key
from . import throttle
from .passwords import hash_password, verify, weakness

NAME = re.compile(r"[a-z0-9._-]{3,32}")


class Refusal(Exception):
    """A form that cannot be accepted, with what to tell the person."""


class Closed(Refusal):
    """Nobody may make an account without a link here, and this sign-up had none."""


class Wait(Exception):
    """Too many wrong passwords lately: the next try is allowed in `seconds`."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def password_refusal(password: str, again: str) -> str | None:
    """Why a new password (typed twice) cannot be used, or None."""
    if password != again:
        return messages.PASSWORDS_DIFFER
    return weakness(password)


def invitation_token(seed: str) -> str:
    """The token of an invitation made from `seed`: only the secret key turns a stored seed into a link."""
    mac = hmac.new(current_config().secret_key.encode(), f"invitation:{seed}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")


def shown_again(link: Row) -> str | None:
    """The token of a live invitation the list may show again (its seed kept, the secret key unchanged)."""
    seed = link.get("seed")
    if not seed or link.get("user_id") is not None:
        return None
    token = invitation_token(seed)
    return token if hmac.compare_digest(sessions.key(token), link["id"]) else None


async def sign_up_open(db: Executor | None = None) -> bool:
    """Whether anyone may make an account: SIGN_UP=open, or nobody has one yet (the first is the admin)."""
    return current_config().sign_up == "open" or not await users.accounts_exist(db or get_db())


async def usable_link(token: str) -> Row | None:
    """A live link; with SIGN_UP=closed, only one that resets a password."""
    link = await invitations.find(get_db(), token)
    if link is None or (link["user_id"] is None and current_config().sign_up == "closed"):
        return None
    return link


async def new_account(name: str, password: str, again: str, address: str, token: str | None = None) -> Row:
    """Store a new account (spending an invitation when given); the first account is an admin."""
    username = username_key(name)
    if not NAME.fullmatch(username):
        raise Refusal(messages.BAD_NAME)
    if refusal := password_refusal(password, again):
        raise Refusal(refusal)
    password_hash = await hash_password(password)

    async def store(tx: Executor) -> Row | None:
        # Whether sign-up is open and who is the admin are decided here, alone, not by the form's page.
        await users.decide_alone(tx)
        if token is None and not await sign_up_open(tx):
            raise Closed(messages.SIGN_UP_CLOSED)
        if await users.by_username(tx, username) is not None:
            return None
        link = await invitations.find(tx, token) if token is not None else None
        if token is not None and not await invitations.use(tx, token):
            raise Refusal(messages.LINK_SPENT)
        role = "user" if await users.accounts_exist(tx) else "admin"
        made = await users.create_account(tx, username, password_hash, role)
        if link is not None and link["group_id"] is not None:
            await groups.add_member(tx, link["group_id"], made["id"])
        return made

    user = await get_db().transact(store)
    if user is None:
        raise Refusal(messages.NAME_TAKEN)
    await audit.record(get_db(), audit.SIGNED_UP, actor_id=user["id"], subject=username, address=address)
    return user


async def reset_password(user_id: int, password: str, again: str, token: str, address: str) -> Row:
    """Set a user's password from a reset link, ending every session they had."""
    if refusal := password_refusal(password, again):
        raise Refusal(refusal)
    password_hash = await hash_password(password)
    db = get_db()

    async def store(tx: Executor) -> Row | None:
        # Spending the link checks that it is live, its maker an enabled admin and its person
        # enabled, before anything changes.
        if not await invitations.use(tx, token):
            raise Refusal(messages.LINK_SPENT)
        await users.set_password(tx, user_id, password_hash)
        await invitations.end_for(tx, user_id)
        await sessions.end_user(tx, user_id)
        return await users.by_id(tx, user_id)

    user = await db.transact(store)
    assert user is not None
    await audit.record(
        db, audit.PASSWORD_CHANGED, actor_id=user["id"], subject=user["username"] or "", address=address
    )
    return user


async def change_password(
    user: Row, current: str, password: str, again: str, keep: str | None, address: str
) -> None:
    """Change one's own password, the current one checked (a few wrong ones per account in a span);
    the account's other sessions (all but `keep`) and its reset links end."""
    db, rate = get_db(), current_config().login_account_rate
    if (wait := await throttle.current_password_wait(db, user["username"], rate)) is not None:
        raise Wait(wait)
    stored = await users.by_username(db, user["username"])
    assert stored is not None
    if not await verify(stored["password_hash"], current):
        await throttle.password_change_failed(db, user["id"], user["username"], address)
        raise Refusal(messages.CURRENT_PASSWORD_WRONG)
    if refusal := password_refusal(password, again):
        raise Refusal(refusal)
    password_hash = await hash_password(password)

    async def store(tx: Executor) -> None:
        await users.set_password(tx, user["id"], password_hash)
        await invitations.end_for(tx, user["id"])
        await sessions.end_user(tx, user["id"], keep=keep)

    await db.transact(store)
    await audit.record(
        db, audit.PASSWORD_CHANGED, actor_id=user["id"], subject=user["username"], address=address
    )
