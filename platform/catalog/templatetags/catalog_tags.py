from django import template
from django.utils.safestring import SafeString, mark_safe

from catalog import icons
from core import markdown

register = template.Library()


@register.simple_tag
def catalog_icon(name: str) -> SafeString:
    """A built-in icon as inline SVG, decorative (aria-hidden): its markup is our own."""
    return mark_safe(icons.svg(name))


@register.filter
def change_markdown(text: str) -> SafeString:
    """A changelog line's Markdown as sanitised HTML (core.markdown)."""
    return mark_safe(markdown.render(text))
