"""Model servers' addresses checked before the app talks to them: never a cloud's metadata service,
never link-local, and never this machine or a private network unless ALLOW_PRIVATE_MODEL_SERVERS."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from .. import messages, reach

Resolver = Callable[[str, int], Awaitable[list[str]]]


class Refused(ValueError):
    """An address the app will not send a request to; the message says why."""


async def resolve(host: str, port: int) -> list[str]:
    """Every address the host name stands for."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]


async def check(url: str, allow_private: bool, resolver: Resolver = resolve) -> None:
    """Refuse (Refused) a server URL that does not parse, or any of whose addresses may not be reached."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused(messages.SERVER_URL_UNPARSED) from None
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise Refused(messages.SERVER_URL_UNPARSED)
    if reach.is_metadata_name(host):
        raise Refused(messages.server_address_refused(host))
    addresses = await _addresses(host, port, resolver)
    for address in addresses:
        refusal = _refusal(address, allow_private)
        if refusal:
            raise Refused(refusal)


async def _addresses(host: str, port: int, resolver: Resolver) -> list[reach.Address]:
    """The host's addresses: itself when it is one, else what it resolves to (Refused when nothing)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = [ipaddress.ip_address(address.split("%")[0]) for address in await resolver(host, port)]
    except (OSError, UnicodeError, ValueError):
        found = []
    if not found:
        raise Refused(messages.server_unresolved(host))
    return found


def _refusal(address: reach.Address, allow_private: bool) -> str | None:
    """Why an address may not be reached, or None."""
    found = reach.kind(address)
    if found in ("metadata", "link-local"):
        return messages.server_address_refused(str(address))
    if found and not allow_private:
        return messages.server_address_private(str(address))
    return None
