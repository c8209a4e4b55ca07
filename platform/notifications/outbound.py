"""Where notifications may go: public addresses only, with a few apprise services, no custom
headers. Django-free: the deployment's allowed networks are passed in.

An address is public when Python's `ipaddress` says `is_global` and it is neither multicast
nor reserved; that refuses loopback, private (RFC 1918, unique-local), link-local, CGNAT,
unspecified, documentation and benchmark ranges. Cloud metadata addresses are refused even
inside the deployment's allowed networks (core/outbound.py). A destination is checked when
it is saved (`check`) and again when it is sent (`send`): then every connection apprise
opens, each redirect hop and each SMTP connection included, is checked as it connects.
"""

import logging
from collections.abc import Iterable

import apprise

from core.outbound import Network, is_allowed, resolves_to_allowed
from core.outbound import guard as _guard

__all__ = ["Failed", "Refused", "check", "is_allowed", "send"]

# The apprise schemes a destination may use, and the plugin attribute naming the host it
# connects to; None for services whose host apprise fixes (hooks.slack.com, discord.com):
# nothing to resolve when saving, and the send is guarded all the same.
SCHEMES: dict[str, str | None] = {
    **dict.fromkeys(["json", "jsons", "xml", "xmls", "form", "forms"], "host"),
    **dict.fromkeys(["mmost", "mmosts", "workflow", "workflows"], "host"),
    **dict.fromkeys(["mailto", "mailtos"], "smtp_host"),  # the SMTP server, not the domain
    **dict.fromkeys(["slack", "discord"], None),
}

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
        if not host or not resolves_to_allowed(host, allowed=allowed):
            raise Refused(NOT_PUBLIC.format(host=host or "The host"))
    return plugin


def send(url: str, *, title: str, body: str, allowed: Iterable[Network]) -> None:
    """Send with apprise, or raise Refused or Failed. Every address apprise connects to is
    checked as it connects (core.outbound.guard)."""
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
