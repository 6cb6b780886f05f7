"""A sign-in proxy's user header (oauth2-proxy, Authelia), believed only when a trusted proxy sent it."""

from __future__ import annotations

from typing import Any

from ..web.proxies import ASGIApp, TrustedProxies


class ProxyUser:
    """ASGI middleware: drop the user and e-mail headers from any request not sent by a trusted proxy."""

    def __init__(self, app: ASGIApp, proxies: TrustedProxies, headers: tuple[str, ...]) -> None:
        self.app = app
        self.proxies = proxies
        self.headers = {header.lower().encode("latin-1") for header in headers}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = (scope.get("client") or ("", 0))[0]
            if not self.proxies.trusted(peer):
                scope = dict(scope)
                scope["headers"] = [
                    (name, value) for name, value in scope["headers"] if name not in self.headers
                ]
        await self.app(scope, receive, send)
