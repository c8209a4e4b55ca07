"""Markdown people write (service notes) as HTML that is safe to put on a page.

Python-Markdown passes raw HTML through, so its output is never trusted: nh3 (ammonia)
keeps only the tags and attributes below, links only to http, https and mailto URLs,
and adds rel="noopener noreferrer" to every link. The raw Markdown is what is stored;
rendering happens on display, so a tighter allowlist applies to every old note at once.
"""

import markdown as markdown_lib
import nh3

TAGS = frozenset(
    {
        "p", "a", "code", "pre", "em", "strong", "ul", "ol", "li", "blockquote",
        "h3", "h4", "h5", "h6", "hr", "br",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
EXTENSIONS = ["fenced_code", "tables", "sane_lists"]


def render(text: str) -> str:
    """`text` (Markdown) as sanitised HTML."""
    html = markdown_lib.markdown(text or "", extensions=EXTENSIONS, output_format="html")
    return nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        url_relative="deny",
        link_rel="noopener noreferrer",
    )
