"""Who the visitor is: a signed owner-id cookie, and the optional password gate with server-side sessions."""

from __future__ import annotations

import hmac
import secrets

from quart import Quart, Response, abort, g, redirect, request, session, url_for

from .. import messages
from ..config import current_config
from ..storage import get_db, sessions
from .htmx import is_htmx
from .security import digest

# What a visitor who has not signed in may still reach when APP_PASSWORD is set.
OPEN_ENDPOINTS = frozenset({"auth.login_form", "auth.login", "health.alive", "static"})


def init_app(app: Quart) -> None:
    """Give every visitor an identity, and keep everyone who has not signed in behind the gate."""
    app.before_request(_ensure_identity)
    app.before_request(_require_sign_in)
    app.jinja_env.globals.update(signed_in=signed_in)


def owner() -> str:
    """The visitor's owner id: their conversations are theirs alone."""
    return session["owner"]


def new_identity() -> None:
    """Forget the session and start a fresh one (a new owner and token)."""
    session.clear()
    session["owner"] = secrets.token_urlsafe(18)
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def password_matches(given: str) -> bool:
    """Compare a password with APP_PASSWORD in constant time (whatever the lengths)."""
    expected = current_config().app_password
    return bool(expected) and hmac.compare_digest(digest(given), digest(expected))


async def sign_in() -> None:
    """Start a fresh session that has passed the password gate, recorded on the server."""
    new_identity()
    token = secrets.token_urlsafe(32)
    await sessions.create(get_db(), token, owner())
    session["sid"] = token
    session["signed_in"] = _password_mark()


async def sign_out() -> None:
    """End this session on the server (a copied cookie stops working too) and start a fresh identity."""
    token = session.get("sid")
    if isinstance(token, str):
        await sessions.end(get_db(), token)
    new_identity()


def signed_in() -> bool:
    """Whether this visitor passed the gate (checked once per request, before the view)."""
    return bool(g.get("signed_in"))


async def _check_signed_in() -> bool:
    """Whether the session passed the gate with the current APP_PASSWORD and is still live on the server."""
    mark, token = session.get("signed_in"), session.get("sid")
    if not current_config().app_password or not isinstance(mark, str) or not isinstance(token, str):
        return False
    if not hmac.compare_digest(mark, _password_mark()):
        return False
    return await sessions.active(get_db(), token, owner())


def _password_mark() -> str:
    """A value that changes with APP_PASSWORD, so changing the password signs everyone out."""
    config = current_config()
    return hmac.new(config.secret_key.encode(), digest(config.app_password), "sha256").hexdigest()[:32]


async def _ensure_identity() -> None:
    # Files, probes and scrapers need no identity, and should not be handed a cookie.
    if request.endpoint == "static" or request.blueprint == "health":
        return
    if not isinstance(session.get("owner"), str) or not isinstance(session.get("csrf"), str):
        new_identity()


async def _require_sign_in() -> Response | None:
    if (
        not current_config().app_password
        or request.endpoint in OPEN_ENDPOINTS
        and request.endpoint != "auth.login_form"
    ):
        return None
    g.signed_in = await _check_signed_in()
    if g.signed_in or request.endpoint in OPEN_ENDPOINTS:
        return None
    login = url_for("auth.login_form")
    if is_htmx():
        response = Response("", 401)
        response.headers["HX-Redirect"] = login
        return response
    if request.method == "GET" and "text/event-stream" not in request.headers.get("Accept", ""):
        return redirect(url_for("auth.login_form", next=request.full_path.rstrip("?")))
    abort(401, messages.SIGN_IN_FIRST)
