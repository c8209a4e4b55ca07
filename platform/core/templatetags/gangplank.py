import json
from datetime import UTC, datetime, timedelta
from functools import cache

from ansi2html import Ansi2HTMLConverter
from django import template
from django.apps import apps
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince, timeuntil

from core.durations import spoken
from core.titles import titled

register = template.Library()

# A diff line's class by its start, the first that matches: file headers, hunks, +, -.
DIFF_CLASSES = (
    ("+++", "diff-file"),
    ("---", "diff-file"),
    ("@@", "diff-hunk"),
    ("+", "diff-add"),
    ("-", "diff-del"),
)
EXPIRY_SOON = timedelta(days=1)

_converter = Ansi2HTMLConverter(inline=False, dark_bg=True, escaped=True, linkify=False)


@register.filter
def ansi(text: str) -> SafeString:
    """Terminal output as HTML: ANSI colours become spans with classes (their colours are in
    gangplank.css: the Content-Security-Policy refuses style attributes), the rest escaped."""
    html = _converter.convert(text.replace("\r\n", "\n"), full=False)
    return mark_safe(html)


@register.filter
def as_value(value) -> str:
    """An input or output as people write it: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


@register.filter(name="titled")
def titled_filter(values: dict, declared) -> list[tuple[str, str, object]]:
    """`{% for key, title, value in inputs|titled:schema.properties %}`: see core.titles."""
    return titled(values or {}, declared)


@register.filter
def plain(value) -> str:
    """A recorded value as people read it: lists as "a, b", mappings as "key: value; ...",
    booleans as yes/no, nothing as "—" (never Python's repr of a list)."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(plain(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {plain(item)}" for key, item in value.items())
    return str(value)


@register.filter
def ago(moment: datetime | None) -> SafeString:
    """A moment relative to now, "just now" within the minute, "3 minutes ago", "in 2 days",
    in a <time> whose title is the exact time (UTC): every list's "when" column."""
    if moment is None:
        return mark_safe("")
    now = timezone.now()
    span = now - moment
    if abs(span) < timedelta(minutes=1):
        text = "just now"
    elif span > timedelta(0):
        text = f"{timesince(moment, now)} ago"
    else:
        text = f"in {timeuntil(moment, now)}"
    exact = moment.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        exact.isoformat(timespec="seconds"),
        exact.strftime("%Y-%m-%d %H:%M:%S"),
        text,
    )


@register.filter
def duration(run) -> str:
    """How long a run took, e.g. "4.2 s" or "3 min 5 s"; empty until it has finished."""
    if not (run.started_at and run.finished_at):
        return ""
    return spoken((run.finished_at - run.started_at).total_seconds())


@cache
def _badge_colours() -> dict[str, str]:
    """Each status's colour, as the apps' configs declare them in `status_badges`."""
    colours: dict[str, str] = {}
    for config in apps.get_app_configs():
        colours.update(getattr(config, "status_badges", {}))
    return colours


@register.simple_tag
def status_badge(status: str, label: str = "") -> SafeString:
    colour = _badge_colours().get(status, "secondary")
    return format_html(
        '<span class="badge text-bg-{} status-{}" data-status="{}">{}</span>',
        colour,
        status,
        status,
        label or status.replace("_", " "),
    )


@register.filter
def diff(text: str) -> SafeString:
    """A unified diff as escaped HTML, added lines (+) and removed ones (-) in their spans."""
    lines = []
    for line in (text or "").splitlines():
        css = next((css for prefix, css in DIFF_CLASSES if line.startswith(prefix)), "")
        if css:
            lines.append(format_html('<span class="{}">{}</span>', css, line))
        else:
            lines.append(conditional_escape(line))
    return mark_safe("\n".join(lines))


@register.simple_tag
def expiry(expires_at: datetime) -> SafeString:
    """'expires in 3 days' as a badge: a warning within a day, danger once past."""
    now = timezone.now()
    left = expires_at - now
    if left <= timedelta(0):
        colour, state, text = "danger", "expired", f"expired {roughly(-left)} ago"
    elif left <= EXPIRY_SOON:
        colour, state, text = "warning", "soon", f"expires in {roughly(left)}"
    else:
        colour, state, text = "light border", "later", f"expires in {roughly(left)}"
    return format_html(
        '<span class="badge text-bg-{} expiry" data-expiry="{}" title="{} UTC">{}</span>',
        colour,
        state,
        expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        text,
    )


ROUGH_UNITS = (
    ("day", timedelta(days=1)),
    ("hour", timedelta(hours=1)),
    ("minute", timedelta(minutes=1)),
)


def roughly(span: timedelta) -> str:
    """A span in its largest unit, rounded: 6 days 23 hours is "7 days", 90 s "2 minutes"."""
    name, unit = next(((n, u) for n, u in ROUGH_UNITS if span >= u), ROUGH_UNITS[-1])
    count = max(1, int(span / unit + 0.5))
    return f"{count} {name}{'' if count == 1 else 's'}"


@register.simple_tag(takes_context=True)
def nav_attrs(context, section: str, css: str = "nav-link") -> SafeString:
    """A navigation link's class, and aria-current when it is the page's section (see
    core.navigation): `<a {% nav_attrs "services" %} href=...>`."""
    if context.get("nav_section") == section:
        return format_html('class="{} active" aria-current="page"', css)
    return format_html('class="{}"', css)
