"""Who the visitor is: an owner-id cookie, the password gate or an account, with server-side sessions."""

from __future__ import annotations

import hmac
import secrets

from quart import g, request, session

from ..config import current_config
from ..storage import Executor, Row, audit, get_db, sessions, users
from .passwords import digest


def owner() -> str:
    """The visitor's owner id: their conversations are theirs alone."""
    return session["owner"]


def new_identity() -> None:
    """Forget the session and start a fresh one (a new owner and token)."""
    session.clear()
    session["owner"] = secrets.token_urlsafe(18)
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def ensure() -> None:
    """Start an identity for a visitor who has none yet."""
    if not isinstance(session.get("owner"), str) or not isinstance(session.get("csrf"), str):
        new_identity()


def password_matches(given: str) -> bool:
    """Compare a password with APP_PASSWORD in constant time (whatever the lengths)."""
    expected = current_config().app_password
    return bool(expected) and hmac.compare_digest(digest(given), digest(expected))


async def sign_in(user: Row | None = None) -> None:
    """Start a fresh server-side session: past the password gate, or as a user who takes over its chats."""
    anonymous = session.get("owner")
    new_identity()
    token = secrets.token_urlsafe(32)
    if user is None:
        await sessions.create(get_db(), token, owner())
        session["signed_in"] = _password_mark()
    else:
        session["owner"] = user["owner"]

        async def start(tx: Executor) -> None:
            if isinstance(anonymous, str):
                await users.claim(tx, anonymous, user["owner"])
            await users.signed_in(tx, user["id"])
            await sessions.create(tx, token, user["owner"], user["id"])

        await get_db().transact(start)
    session["sid"] = token


def current_user() -> Row | None:
    """The account signed in on this request, or None."""
    return g.get("user")


def is_admin() -> bool:
    """Whether the account signed in on this request is an admin."""
    user = current_user()
    return user is not None and user["role"] == "admin"


async def external_person(
    kind: str, subject: str, name: str, email: str | None, verified: bool = True
) -> Row:
    """The person a provider or a sign-in proxy names, made on first sight; ADMIN_EMAILS makes admins."""
    admin = verified and email is not None and email in current_config().admin_emails
    known = await users.by_subject(get_db(), kind, subject)
    if known is not None and (known["role"] == "admin" or not admin):
        return known
    return await get_db().transact(lambda tx: users.external(tx, kind, subject, name, email, admin))


def session_token() -> str | None:
    """This browser's server-side session token, when it has signed in."""
    token = session.get("sid")
    return token if isinstance(token, str) else None


async def sign_out() -> None:
    """End this session on the server (a copied cookie stops working too) and start a fresh identity."""
    token = session.get("sid")
    if isinstance(token, str):
        await sessions.end(get_db(), token)
    new_identity()


def signed_in() -> bool:
    """Whether this visitor is signed in (checked once per request, before the view)."""
    return bool(g.get("signed_in"))


async def check_signed_in() -> bool:
    """Whether the session is signed in (an enabled user, or the current APP_PASSWORD) and still live."""
    token = session.get("sid")
    if current_config().sign_in_mode == "proxy":
        return await _proxy_user()
    if current_config().accounts:
        g.user = await sessions.user_of(get_db(), token) if isinstance(token, str) else None
        if g.user is not None and g.user["owner"] != session.get("owner"):
            g.user = None
        return g.user is not None
    mark = session.get("signed_in")
    if not current_config().app_password or not isinstance(mark, str) or not isinstance(token, str):
        return False
    if not hmac.compare_digest(mark, _password_mark()):
        return False
    return await sessions.active(get_db(), token, owner())


async def _proxy_user() -> bool:
    """Sign in the person the trusted proxy names (made on first sight); a changed name signs in anew."""
    config = current_config()
    # Compared as sign-up compares names: `OpsAdmin` and `opsadmin` are one person. A name too
    # long to keep whole is nobody: cut, two people could become one.
    name = users.normal_name(request.headers.get(config.proxy_user_header, ""))
    if not name or len(name) > users.SUBJECT_CHARS:
        return False
    email = request.headers.get(config.proxy_email_header, "").strip().lower()[:254] or None
    user = await external_person("proxy", name, name, email)
    if user["disabled_at"] is not None:
        return False
    if session.get("owner") != user["owner"]:
        await sign_in(user)
        await audit.record(get_db(), audit.SIGNED_IN, actor_id=user["id"], subject=name, detail="proxy")
    g.user = user
    return True


def _password_mark() -> str:
    """A value that changes with APP_PASSWORD, so changing the password signs everyone out."""
    config = current_config()
    return hmac.new(config.secret_key.encode(), digest(config.app_password), "sha256").hexdigest()[:32]
