"""The session cookie, CSRF protection, and the security headers every response carries."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from quart import Quart, abort, current_app, has_request_context, request, session
from quart.sessions import SecureCookieSessionInterface, SessionMixin

from .. import asgi, messages
from ..people.access import Access, access_of, hands_identity
from ..people.passwords import digest
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


class SessionInterface(SecureCookieSessionInterface):
    """Signed cookie sessions whose cookie is Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Quart) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (
            has_request_context() and request.scheme == "https"
        )

    def should_set_cookie(self, app: Quart, session: SessionMixin) -> bool:
        # Files, probes and the API are handed no cookie, not even a refreshed one.
        if has_request_context() and not hands_identity(_view()):
            return False
        # A changed session is always sent; an unchanged one only with whole pages, which is
        # enough to keep its expiry fresh without signing it again for every fragment and stream.
        page = (
            request.method == "GET"
            and not is_htmx()
            and "event-stream" not in request.headers.get("Accept", "")
        )
        return session.modified or (session.permanent and page)


def init_app(app: Quart) -> None:
    """Sign the session cookie, believe only trusted proxies, and refuse unsafe requests without the token."""
    config = app.config["ANSWERS"]
    app.config.update(
        SESSION_COOKIE_NAME="answers_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=400),
    )
    app.session_interface = SessionInterface()
    if config.trusted_proxies:
        asgi.wrap(app, lambda inner: TrustedProxies(inner, config.trusted_proxies))
    app.before_request(_check_csrf)
    app.jinja_env.globals.update(csrf_token=csrf_token)


def csrf_token() -> str:
    """The token every unsafe request of this visitor must carry."""
    return session["csrf"]


def _view() -> Callable[..., Any] | None:
    return current_app.view_functions.get(request.endpoint or "")


async def _check_csrf() -> None:
    # The API takes no cookie, only a key in a header another site cannot send: nothing to forge.
    if request.method not in UNSAFE_METHODS or access_of(_view()) is Access.API_KEY:
        return
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        abort(403, messages.FOREIGN_SITE)
    origin = request.headers.get("Origin")
    # Compare hosts only: behind a TLS proxy the app itself may see plain http.
    if origin is not None and _host_of(origin) != request.host.lower():
        abort(403, messages.FOREIGN_SITE)
    sent = request.headers.get("X-CSRF-Token")
    if sent is None:
        sent = (await request.form).get("csrf_token")
    expected = session.get("csrf")
    if not sent or not isinstance(expected, str) or not hmac.compare_digest(digest(sent), digest(expected)):
        abort(403, messages.STALE_TOKEN)


def _host_of(origin: str) -> str | None:
    """The host (and port) an Origin header names, lower-cased; None when it cannot be read."""
    try:
        return urlsplit(origin).netloc.lower()
    except ValueError:
        return None
