"""Believe X-Forwarded-For / X-Forwarded-Proto only when they come from a configured proxy."""

from __future__ import annotations

import ipaddress
from typing import Any

from .. import asgi
from ..config import Network


def trusted(address: str, networks: tuple[Network, ...]) -> bool:
    """Whether an address belongs to one of these proxies' networks."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


class TrustedProxies:
    """ASGI middleware: rewrite the client address and scheme from headers set by trusted proxies."""

    def __init__(self, app: asgi.ASGIApp, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and self.networks:
            peer = (scope.get("client") or ("", 0))[0]
            if self.trusted(peer):
                scope = self.rewritten(scope, peer)
        await self.app(scope, receive, send)

    def trusted(self, address: str) -> bool:
        """Whether an address belongs to one of the configured proxies."""
        return trusted(address, self.networks)

    def rewritten(self, scope: dict[str, Any], peer: str) -> dict[str, Any]:
        """The scope as the client saw it: its own address, and https when the proxy says so."""
        forwarded_for: list[str] = []
        proto = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                forwarded_for += [part.strip() for part in value.decode("latin-1").split(",")]
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1").rsplit(",", 1)[-1].strip().lower()
        # Walk back from the nearest hop: the first address no trusted proxy vouches for
        # is the client; anything further left could have been written by the client itself.
        client = peer
        for hop in reversed(forwarded_for):
            if not _is_ip(hop):
                break
            client = hop
            if not self.trusted(hop):
                break
        scope = dict(scope)
        scope["client"] = (client, 0)
        if proto in ("http", "https"):
            scope["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
        return scope


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True
