"""Who the visitor is, CSRF protection, and the security headers of every response."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from quart import Quart, Response, abort, request, session

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


def init_app(app: Quart) -> None:
    """Give every visitor an identity and a token, check unsafe requests, add headers."""
    app.config.update(
        SESSION_COOKIE_NAME="answers_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=400),
    )
    app.before_request(_ensure_identity)
    app.before_request(_check_csrf)
    app.after_request(_add_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token


def owner() -> str:
    """The visitor's owner id: their conversations are theirs alone."""
    return session["owner"]


def csrf_token() -> str:
    """The token every unsafe request of this visitor must carry."""
    return session["csrf"]


async def _ensure_identity() -> None:
    if request.endpoint == "static":
        return
    if "owner" not in session or "csrf" not in session:
        session["owner"] = secrets.token_urlsafe(18)
        session["csrf"] = secrets.token_urlsafe(32)
        session.permanent = True


async def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        abort(403, "This form was sent from another site, so it was refused.")
    origin = request.headers.get("Origin")
    # Compare hosts only: behind a TLS proxy the app itself may see plain http.
    if origin and urlsplit(origin).netloc != request.host:
        abort(403, "This form was sent from another site, so it was refused.")
    sent = request.headers.get("X-CSRF-Token")
    if sent is None:
        sent = (await request.form).get("csrf_token")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        abort(403, "Your session has expired or the form is out of date. Reload the page and try again.")


async def _add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
