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
