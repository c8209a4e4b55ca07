"""Text the database can store, checked once for every request body.

PostgreSQL refuses NUL in text and JSONB, and a lone surrogate (which JSON's "\\ud800" escape
makes) cannot be encoded to UTF-8; JSON numbers beyond a double (1e400) become infinities,
which JSONB refuses too. `problems` finds them anywhere in a parsed body, keys included, and
answers with messages keyed like the body, so that they read as the API's field errors.
`without_ansi` makes terminal output (a run's log) plain text.
"""

import math
import re
from typing import Any

from django.core.exceptions import SuspiciousOperation

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
TEXT_MESSAGE = "Must not contain NUL characters or unpaired surrogates."
KEY_MESSAGE = "Names must not contain NUL characters or unpaired surrogates."
NUMBER_MESSAGE = "Numbers must be finite."


# Terminal control sequences: CSI (colours, cursor moves), OSC (titles, links), and the
# two-character escapes.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def without_ansi(value: str) -> str:
    """Terminal output as plain text: no ANSI codes, and `\\n` for each line break."""
    return ANSI.sub("", value).replace("\r\n", "\n").replace("\r", "\n")


def storable(value: str) -> bool:
    return UNSTORABLE.search(value) is None


def replaced(value: str) -> str:
    """`value` with each character that cannot be stored replaced by U+FFFD."""
    return UNSTORABLE.sub("\ufffd", value)


def cleaned(value: Any) -> Any:
    """`value` (parsed JSON) with unstorable characters replaced in every string and key: for
    what playbooks print and report, which is stored as it comes rather than refused."""
    if isinstance(value, str):
        return replaced(value)
    if isinstance(value, dict):
        return {cleaned(key): cleaned(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [cleaned(item) for item in value]
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
