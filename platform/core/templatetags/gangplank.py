import json

from ansi2html import Ansi2HTMLConverter
from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

BADGES = {
    "active": "success",
    "succeeded": "success",
    "failed": "danger",
    "provisioning": "info",
    "running": "info",
    "queued": "secondary",
}

_converter = Ansi2HTMLConverter(inline=True, dark_bg=True, escaped=True, linkify=False)


@register.filter
def ansi(text: str) -> SafeString:
    """Terminal output as HTML: ANSI colours become styled spans, the rest is escaped."""
    html = _converter.convert(text.replace("\r\n", "\n"), full=False)
    return mark_safe(html)


@register.filter
def as_value(value) -> str:
    """An input or output as people write it: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


@register.filter
def duration(run) -> str:
    """How long a run took, e.g. "4.2 s" or "3 min 5 s"; empty until it has finished."""
    if not (run.started_at and run.finished_at):
        return ""
    seconds = (run.finished_at - run.started_at).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s"


@register.simple_tag
def status_badge(status: str, label: str = "") -> SafeString:
    colour = BADGES.get(status, "secondary")
    return format_html(
        '<span class="badge text-bg-{} status-{}" data-status="{}">{}</span>',
        colour,
        status,
        status,
        label or status,
    )
