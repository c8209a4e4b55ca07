"""Where notifications may go: public addresses only, with a few apprise services, no custom
headers. Django-free: the deployment's allowed networks are passed in.

An address is public when Python's `ipaddress` says `is_global` and it is neither multicast
nor reserved; that refuses loopback, private (RFC 1918, unique-local), link-local, CGNAT,
unspecified, documentation and benchmark ranges. Cloud metadata addresses are refused even
inside the deployment's allowed networks. A destination is checked when it is saved
(`check`) and again when it is sent (`send`): then every connection apprise opens, each
redirect hop and each SMTP connection included, goes through `_guarded_getaddrinfo`.
"""

import contextlib
import contextvars
import ipaddress
import logging
import socket
from collections.abc import Iterable, Iterator

import apprise

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# The apprise schemes a destination may use, and the plugin attribute naming the host it
# connects to; None for services whose host apprise fixes (hooks.slack.com, discord.com):
# nothing to resolve when saving, and the send is guarded all the same.
SCHEMES: dict[str, str | None] = {
    **dict.fromkeys(["json", "jsons", "xml", "xmls", "form", "forms"], "host"),
    **dict.fromkeys(["mmost", "mmosts", "workflow", "workflows"], "host"),
    **dict.fromkeys(["mailto", "mailtos"], "smtp_host"),  # the SMTP server, not the domain
    **dict.fromkeys(["slack", "discord"], None),
}
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

NOT_PUBLIC = (
    "{host} is not a public address, or does not resolve only to public ones: "
    "notifications never go to loopback, private, link-local or cloud metadata addresses."
)


class Refused(ValueError):
    """Gangplank does not send to this destination; the message says why, for its user."""


class Failed(Exception):
    """The send failed; the message holds apprise's details, for the server log only."""


def check(url: str, *, allowed: Iterable[Network]) -> apprise.plugins.NotifyBase:
    """The apprise plugin for `url` if notifications may go there; Refused if not."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise Refused(
            "Not a notification URL apprise understands, such as slack://..., mailto://..., "
            "json://host/path (see apprise's documentation)."
        )
    scheme = url.partition("://")[0].strip().lower()
    if scheme not in SCHEMES:
        raise Refused(f"Notifications go only to {', '.join(s + '://' for s in SCHEMES)} URLs.")
    if getattr(plugin, "headers", None):
        raise Refused("Custom headers (+Name=value in the URL) are not allowed.")
    if getattr(plugin, "method", "POST") != "POST":
        raise Refused("Webhooks are sent with POST only: remove method= from the URL.")
    if attribute := SCHEMES[scheme]:
        host = str(getattr(plugin, attribute, "") or "")
        if not host or not _resolves_to_allowed(host, allowed=tuple(allowed)):
            raise Refused(NOT_PUBLIC.format(host=host or "The host"))
    return plugin


def send(url: str, *, title: str, body: str, allowed: Iterable[Network]) -> None:
    """Send with apprise, or raise Refused or Failed. Every address apprise connects to is
    checked as it connects (see _guarded_getaddrinfo)."""
    allowed = tuple(allowed)
    sender = apprise.Apprise()
    sender.add(check(url, allowed=allowed))
    with _guard(allowed) as refused_hosts:
        try:
            with apprise.LogCapture(level=logging.WARNING) as output:
                sent = sender.notify(title=title, body=body)
        except Exception as exc:  # a plugin's own failure
            raise Failed(f"{type(exc).__name__}: {exc}") from exc
    if refused_hosts:
        raise Refused(NOT_PUBLIC.format(host=", ".join(refused_hosts)))
    if not sent:
        lines = [line.split(" - ", 2)[-1] for line in output.getvalue().splitlines() if line]
        raise Failed("; ".join(lines) or "the destination refused the message")


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


def _resolves_to_allowed(host: str, *, allowed: tuple[Network, ...]) -> bool:
    try:
        infos = _real_getaddrinfo(host.strip("[]"), None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return bool(infos) and all(is_allowed(str(info[4][0]), allowed=allowed) for info in infos)


# The guard. apprise connects with requests (urllib3) and smtplib, and both resolve through
# socket.getaddrinfo, then connect to exactly the addresses it returned. Checking them there
# pins each connection to checked addresses (no second lookup for DNS to change in between),
# covers every redirect hop and keeps TLS verification on the host name. It is active only in
# the context of a send; apprise's worker threads run in a copy of that context.
_real_getaddrinfo = socket.getaddrinfo
_active: contextvars.ContextVar[tuple[tuple[Network, ...], list[str]] | None] = (
    contextvars.ContextVar("notifications_outbound_guard", default=None)
)


def _guarded_getaddrinfo(host, port, *args, **kwargs):
    infos = _real_getaddrinfo(host, port, *args, **kwargs)
    guard = _active.get()
    if guard is not None:
        allowed, refused_hosts = guard
        if not all(is_allowed(str(info[4][0]), allowed=allowed) for info in infos):
            refused_hosts.append(str(host))
            raise socket.gaierror(socket.EAI_FAIL, "refused: not a public address")
    return infos


@contextlib.contextmanager
def _guard(allowed: tuple[Network, ...]) -> Iterator[list[str]]:
    socket.getaddrinfo = _guarded_getaddrinfo
    refused_hosts: list[str] = []
    token = _active.set((allowed, refused_hosts))
    try:
        yield refused_hosts
    finally:
        _active.reset(token)
