"""A sign-in proxy's user header (oauth2-proxy, Authelia), believed only when a trusted proxy sent it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart import Quart

from .. import asgi


class ProxyUser:
    """ASGI middleware: drop the user and e-mail headers from any request not sent by a trusted proxy."""

    def __init__(self, app: asgi.ASGIApp, trusted: Callable[[str], bool], headers: tuple[str, ...]) -> None:
        self.app = app
        self.trusted = trusted
        self.headers = {header.lower().encode("latin-1") for header in headers}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = (scope.get("client") or ("", 0))[0]
            if not self.trusted(peer):
                scope = dict(scope)
                scope["headers"] = [
                    (name, value) for name, value in scope["headers"] if name not in self.headers
                ]
        await self.app(scope, receive, send)


def init_app(app: Quart, trusted: Callable[[str], bool]) -> None:
    """With SIGN_IN=proxy, let only the requests of proxies `trusted` vouches for carry the user headers."""
    config = app.config["ANSWERS"]
    if config.sign_in_mode == "proxy":
        headers = (config.proxy_user_header, config.proxy_email_header)
        asgi.wrap(app, lambda inner: ProxyUser(inner, trusted, headers))
