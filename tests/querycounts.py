"""Query-count baselines: the most queries each page and endpoint may cost, one JSON file per
app in tests/query_counts/, keyed by the route's path ("/services/{pk}/"), so that a view
moving to another module keeps its baseline.

A baseline is an upper bound. With UPDATE_QUERY_COUNTS=1, tests/test_query_counts.py writes
what each route costs now into its file (a new route into its view's app's file): review the
diff as you would code.
"""

import json
import os
import re
from functools import cache
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

BASELINES = Path(__file__).parent / "query_counts"
UPDATE = bool(os.environ.get("UPDATE_QUERY_COUNTS"))

_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def route_key(pattern: str) -> str:
    """A route's path with its parameters named: `api/^runs/(?P<pk>[^/.]+)/$` and
    `runs/<int:pk>/` both read `/.../runs/{pk}/`."""
    path = pattern.replace("^", "").replace("$", "")
    path = _CONVERTER.sub(r"{\1}", _REGEX_GROUP.sub(r"{\1}", path))
    return "/" + path


def routes() -> dict[str, object]:
    """Every route of the site outside Django's admin, without the API's format suffixes:
    its key -> its view."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace != "admin":
                    yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                text = prefix + str(pattern.pattern)
                if "format>" not in text and not text.startswith("admin/"):
                    yield route_key(text), pattern.callback

    return dict(walk(get_resolver().url_patterns))


def answers_get(view) -> bool:
    """Whether the API view answers GET (portal views say so in tests/test_query_counts.py)."""
    actions = getattr(view, "actions", None)
    return actions is None or "get" in actions


@cache
def files() -> dict[str, dict[str, int]]:
    """Each app's baselines, by the app's name."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(BASELINES.glob("*.json"))}


def baselines() -> dict[str, int]:
    """Every route's baseline, whichever app's file holds it."""
    merged: dict[str, int] = {}
    for app, counts in files().items():
        twice = set(merged) & set(counts)
        assert not twice, f"{app}.json repeats baselines of another file: {sorted(twice)}"
        merged.update(counts)
    return merged


def budget(key: str) -> int:
    """The most queries the route `key` may cost."""
    counts = baselines()
    assert key in counts, f"no query-count baseline for {key} in {BASELINES}"
    return counts[key]


def record(key: str, count: int, *, app: str) -> None:
    """Write `count` as the baseline of `key` (update mode), in the file that holds it."""
    owner = next((name for name, counts in files().items() if key in counts), app)
    path = BASELINES / f"{owner}.json"
    counts = json.loads(path.read_text()) if path.exists() else {}
    counts[key] = count
    path.write_text(json.dumps(dict(sorted(counts.items())), indent=2) + "\n")
    files.cache_clear()
