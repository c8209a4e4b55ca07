"""The client's address, for the login lockout (django-axes) and the audit trail alike.

`REMOTE_ADDR` is the client unless the peer is one of `GANGPLANK_TRUSTED_PROXIES`; only then
is `X-Forwarded-For` read, from the right (each proxy appends the address it was called
from), and the first address that is not a trusted proxy is the client. A header sent by
anyone else is ignored, so it cannot make one client pass for another.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket is the IPv4 address.
    return getattr(address, "ipv4_mapped", None) or address


def _trusted(address, proxies: list[Network]) -> bool:
    return any(address in network for network in proxies)


def client_address(request: HttpRequest) -> str | None:
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    proxies = settings.GANGPLANK_TRUSTED_PROXIES
    client = peer
    if _trusted(peer, proxies):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        for hop in reversed(forwarded):
            address = _address(hop)
            if address is None:
                break  # garbage from beyond the proxies: the last trusted hop is all we know
            client = address
            if not _trusted(address, proxies):
                break
    return str(client)
