"""People: who a visitor is, how they sign in, and what they may do."""

from __future__ import annotations

from quart import Quart

from . import access, identity, oidc


def init_app(app: Quart) -> None:
    """Check every request against its view's access first; let pages ask who is signed in."""
    app.before_request(access.admit)
    app.jinja_env.globals.update(
        signed_in=identity.signed_in, current_user=identity.current_user, is_admin=identity.is_admin
    )
    oidc.init_app(app)
