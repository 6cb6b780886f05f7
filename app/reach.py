"""The hosts no request of the app may reach, whoever configured it: cloud metadata services,
link-local addresses, and (unless allowed) this machine and private networks."""

from __future__ import annotations

import ipaddress
from typing import Literal

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Kind = Literal["metadata", "link-local", "loopback", "private"]

METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "metadata.azure.internal", "instance-data"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address) for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


def is_metadata_name(host: str) -> bool:
    """Whether a host name (lower case, no trailing dot) names a cloud's metadata service."""
    return host in METADATA_NAMES or host.startswith("metadata") and host.endswith(".internal")


def kind(address: Address) -> Kind | None:
    """What sort of unreachable address this is, or None for an address on the internet."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "metadata"
    if address.is_link_local:
        return "link-local"
    if address.is_loopback:
        return "loopback"
    if not address.is_global:
        return "private"
    return None
