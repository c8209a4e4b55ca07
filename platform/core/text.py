"""Text the database can store, checked once for every request body.

PostgreSQL refuses NUL in text and JSONB, and a lone surrogate (which JSON's "\\ud800" escape
makes) cannot be encoded to UTF-8; JSON numbers beyond a double (1e400) become infinities,
which JSONB refuses too. `problems` finds them anywhere in a parsed body, keys included, and
answers with messages keyed like the body, so that they read as the API's field errors.

And `plain`: what a playbook printed, without its terminal escape codes (a run's log, the
API's event text).
"""

import json
import math
import re
from typing import Any

from django.core.exceptions import SuspiciousOperation

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
SURROGATE = re.compile("[\ud800-\udfff]")
# Terminal escape sequences: CSI (colours, cursor moves: ESC [ ... letter), OSC (titles,
# links: ESC ] ... BEL or ESC \\), character sets (ESC ( B) and the two-character ones.
ANSI = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[()*+][0-9A-Za-z]|[@-Z\\-_])"
)
NEWLINES = re.compile(r"\r\n?")
TEXT_MESSAGE = "Must not contain NUL characters or unpaired surrogates."
KEY_MESSAGE = "Names must not contain NUL characters or unpaired surrogates."
NUMBER_MESSAGE = "Numbers must be finite."


def plain(terminal: str) -> str:
    """Terminal output as plain text: without ANSI escape codes, every line ending in \\n."""
    return NEWLINES.sub("\n", ANSI.sub("", terminal))


def storable(value: str) -> bool:
    return UNSTORABLE.search(value) is None


def replaced(value: str) -> str:
    """`value` with each character that cannot be stored replaced by U+FFFD."""
    # Searching first: most strings hold none, and a search costs a fraction of a sub.
    return UNSTORABLE.sub("\ufffd", value) if UNSTORABLE.search(value) else value


def cleaned(value: Any) -> Any:
    """`value` (parsed JSON) with unstorable characters replaced in every string and key: for
    what playbooks print and report, which is stored as it comes rather than refused. `value`
    itself when it holds none (most do)."""
    try:
        # One pass in C: json escapes NUL as \u0000 and leaves lone surrogates as they are.
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return _cleaned(value)
    return _cleaned(value) if "\\u0000" in text or SURROGATE.search(text) else value


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return replaced(value)
    if isinstance(value, dict):
        return {_cleaned(key): _cleaned(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(item) for item in value]
    return value


def first_problem(value: Any) -> str | None:
    """The first message of `problems(value)`, for a form field holding JSON text."""
    found = problems(value)
    while isinstance(found, dict):
        found = next(iter(found.values()))
    return found[0] if found else None


def problems(value: Any) -> dict | list | None:
    """What in `value` cannot be stored: None when all can; else, for a dict, the messages
    of each bad entry under its key (or under "" for a bad key, which could not be shown);
    for a list, under the item's index; for a scalar, a list of messages."""
    if isinstance(value, str):
        return None if storable(value) else [TEXT_MESSAGE]
    if isinstance(value, float):
        return None if math.isfinite(value) else [NUMBER_MESSAGE]
    if isinstance(value, dict):
        found: dict = {}
        for key, item in value.items():
            if isinstance(key, str) and not storable(key):
                found[""] = [KEY_MESSAGE]
            elif (inner := problems(item)) is not None:
                found[key] = inner
        return found or None
    if isinstance(value, list | tuple):
        found = {str(index): inner for index, item in enumerate(value) if (inner := problems(item))}
        return found or None
    return None


class UnstorableAddress(SuspiciousOperation):
    """A URL whose path or query holds what no stored name or value can hold."""

    message = "The address must not contain NUL characters or unpaired surrogates."


class RefuseUnstorableAddressMiddleware:
    """Refuses (400, see core.views.bad_request) a request whose path or query parameters
    hold NUL: no object is named so, and no filter could look it up in PostgreSQL."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        values = [request.path_info]
        for key, items in request.GET.lists():
            values += [key, *items]
        if not all(storable(value) for value in values):
            raise UnstorableAddress(UnstorableAddress.message)
        return self.get_response(request)
