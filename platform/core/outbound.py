"""Where the server may connect on a user's behalf: public addresses only, besides the
deployment's own networks. Django-free: the allowed networks are passed in. Notifications
(notifications/outbound.py) and lists fetched for inputs' choices (catalog/choice_lists.py)
go through it.

An address is public when Python's `ipaddress` says `is_global` and it is neither multicast
nor reserved; that refuses loopback, private (RFC 1918, unique-local), link-local, CGNAT,
unspecified, documentation and benchmark ranges. Cloud metadata addresses are refused even
inside the deployment's allowed networks. Inside `guard()`, every connection, each redirect
hop included, goes through `_guarded_getaddrinfo`.
"""

import contextlib
import contextvars
import ipaddress
import socket
from collections.abc import Iterable, Iterator

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.0.0/16",  # AWS, GCP, Azure, OpenStack metadata; ECS task credentials
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "168.63.129.16/32",  # Azure WireServer
        "192.0.0.192/32",  # Oracle Cloud metadata
    )
)
DNS64 = ipaddress.ip_network("64:ff9b::/96")


def is_allowed(address: str, *, allowed: Iterable[Network]) -> bool:
    """Whether a connection to `address` (an IP as getaddrinfo gives it) may be made."""
    ip = ipaddress.ip_address(address.partition("%")[0])  # no IPv6 scope id
    # An address standing for an IPv4 one (DNS64, 6to4) is judged by that one (too).
    if ip.version == 6 and ip in DNS64:
        stands_for: list[Address] = [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    else:
        stands_for = [ip, *([ip.sixtofour] if ip.version == 6 and ip.sixtofour else [])]
    if any(_within(i, ALWAYS_REFUSED) for i in (ip, *stands_for)):
        return False
    public = all(i.is_global and not i.is_multicast and not i.is_reserved for i in stands_for)
    return public or _within(ip, allowed)


def _within(ip: Address, networks: Iterable[Network]) -> bool:
    return any(ip.version == n.version and ip in n for n in networks)


def resolves_to_allowed(host: str, *, allowed: Iterable[Network]) -> bool:
    """Whether `host` resolves, and only to addresses that may be connected to."""
    allowed = tuple(allowed)
    try:
        infos = _real_getaddrinfo(host.strip("[]"), None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return bool(infos) and all(is_allowed(str(info[4][0]), allowed=allowed) for info in infos)


# The guard. requests (urllib3) and smtplib resolve through socket.getaddrinfo, then connect
# to exactly the addresses it returned. Checking them there pins each connection to checked
# addresses (no second lookup for DNS to change in between), covers every redirect hop and
# keeps TLS verification on the host name. It is active only in the context of `guard()`;
# worker threads started there run in a copy of that context.
_real_getaddrinfo = socket.getaddrinfo
_active: contextvars.ContextVar[tuple[tuple[Network, ...], list[str]] | None] = (
    contextvars.ContextVar("core_outbound_guard", default=None)
)


def _guarded_getaddrinfo(host, port, *args, **kwargs):
    infos = _real_getaddrinfo(host, port, *args, **kwargs)
    active = _active.get()
    if active is not None:
        allowed, refused_hosts = active
        if not all(is_allowed(str(info[4][0]), allowed=allowed) for info in infos):
            refused_hosts.append(str(host))
            raise socket.gaierror(socket.EAI_FAIL, "refused: not a public address")
    return infos


@contextlib.contextmanager
def guard(allowed: Iterable[Network]) -> Iterator[list[str]]:
    """Within it, a connection to an address `is_allowed` refuses fails (socket.gaierror);
    yields the list of hosts refused so far."""
    socket.getaddrinfo = _guarded_getaddrinfo
    refused_hosts: list[str] = []
    token = _active.set((tuple(allowed), refused_hosts))
    try:
        yield refused_hosts
    finally:
        _active.reset(token)
