"""Who the visitor is, CSRF protection, the optional password gate, and the security headers of every response."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from quart import Quart, Response, abort, has_request_context, redirect, request, session, url_for
from quart.sessions import SecureCookieSessionInterface

from .config import current_config
from .htmx import is_htmx
from .proxies import TrustedProxies

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
# What a visitor who has not signed in may still reach when APP_PASSWORD is set.
OPEN_ENDPOINTS = frozenset({"auth.login_form", "auth.login", "health.alive", "static"})
FOREIGN_SITE = "This form was sent from another site, so it was refused."
STALE_TOKEN = "Your session has expired or the form is out of date. Reload the page and try again."


class SessionInterface(SecureCookieSessionInterface):
    """Signed cookie sessions whose cookie is Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Quart) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.scheme == "https")


def init_app(app: Quart) -> None:
    """Give every visitor an identity and a token, check unsafe requests, gate the app, add headers."""
    config = app.config["ANSWERS"]
    app.config.update(
        SESSION_COOKIE_NAME="answers_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=400),
    )
    app.session_interface = SessionInterface()
    if config.trusted_proxies:
        app.asgi_app = TrustedProxies(app.asgi_app, config.trusted_proxies)  # type: ignore[method-assign]
    app.before_request(_ensure_identity)
    app.before_request(_check_csrf)
    app.before_request(_require_sign_in)
    app.after_request(_add_security_headers)
    app.jinja_env.globals.update(csrf_token=csrf_token, signed_in=signed_in)


def owner() -> str:
    """The visitor's owner id: their conversations are theirs alone."""
    return session["owner"]


def csrf_token() -> str:
    """The token every unsafe request of this visitor must carry."""
    return session["csrf"]


def new_identity() -> None:
    """Forget the session and start a fresh one (a new owner and token)."""
    session.clear()
    session["owner"] = secrets.token_urlsafe(18)
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def password_matches(given: str) -> bool:
    """Compare a password with APP_PASSWORD in constant time (whatever the lengths)."""
    expected = current_config().app_password
    return bool(expected) and hmac.compare_digest(_digest(given), _digest(expected))


def sign_in() -> None:
    """Start a fresh session that has passed the password gate."""
    new_identity()
    session["signed_in"] = _password_mark()


def signed_in() -> bool:
    """Whether this visitor passed the gate with the current APP_PASSWORD (and so may sign out)."""
    mark = session.get("signed_in")
    return bool(current_config().app_password) and isinstance(mark, str) and hmac.compare_digest(
        mark, _password_mark()
    )


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _password_mark() -> str:
    """A value that changes with APP_PASSWORD, so changing the password signs everyone out."""
    config = current_config()
    return hmac.new(config.secret_key.encode(), _digest(config.app_password), "sha256").hexdigest()[:32]


async def _ensure_identity() -> None:
    # Files, probes and scrapers need no identity, and should not be handed a cookie.
    if request.endpoint == "static" or request.blueprint == "health":
        return
    if not isinstance(session.get("owner"), str) or not isinstance(session.get("csrf"), str):
        new_identity()


async def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        abort(403, FOREIGN_SITE)
    origin = request.headers.get("Origin")
    # Compare hosts only: behind a TLS proxy the app itself may see plain http.
    if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
        abort(403, FOREIGN_SITE)
    sent = request.headers.get("X-CSRF-Token")
    if sent is None:
        sent = (await request.form).get("csrf_token")
    expected = session.get("csrf")
    if not sent or not isinstance(expected, str) or not hmac.compare_digest(_digest(sent), _digest(expected)):
        abort(403, STALE_TOKEN)


async def _require_sign_in() -> Response | None:
    if not current_config().app_password or request.endpoint in OPEN_ENDPOINTS or signed_in():
        return None
    login = url_for("auth.login_form")
    if is_htmx():
        response = Response("", 401)
        response.headers["HX-Redirect"] = login
        return response
    if request.method == "GET" and "text/event-stream" not in request.headers.get("Accept", ""):
        return redirect(url_for("auth.login_form", next=request.full_path.rstrip("?")))
    abort(401, "Sign in first.")


async def _add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def safe_next(target: str | None) -> str:
    """A same-site path to return to after signing in; anything else means the chat page."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return url_for("chat.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return url_for("chat.index")
    return target
