"""Fetching a list of (value, label) pairs from a JSON document at a URL, for an input's
choices (`x-gangplank-choices: {url, items, value, label}`). Django-free: the allowed
networks and the credential's values are passed in.

GET only, through core.outbound's guard (public addresses only, every connection and each
redirect checked as it connects), with a short timeout for each wait, a deadline for reading
and extracting the whole list (a source dripping bytes must not hold a web worker), a size
cap and caps on the items found and kept.
Every failure is a ListProblem whose message names the host and the reason, never the URL's
query nor the credential.
"""

import json
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

import requests
import urllib3
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext import parse as parse_jsonpath

from core import outbound

TIMEOUT_SECONDS = 5
# The whole fetch: checked while the answer is read and its items extracted, so that with
# the last wait it lasts at most DEADLINE_SECONDS + TIMEOUT_SECONDS.
DEADLINE_SECONDS = 10
MAX_BYTES = 1024 * 1024
MAX_ITEMS = 500
# Items the `items` JSONPath may find, duplicates included (each one costs a lookup).
MAX_MATCHES = 10 * MAX_ITEMS
MAX_TEXT = 500


class ListProblem(Exception):
    """The list could not be loaded; the message says why, for the requester."""


def jsonpath_problem(path: str) -> str | None:
    """Why `path` is not a JSONPath the fetch can use, or None."""
    try:
        parse_jsonpath(path)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:  # the lexer's own too
        return f"is not a JSONPath: {exc}"
    return None


def host_of(url: str) -> str:
    return urlsplit(url).hostname or "the list's address"


def fetch(
    url: str,
    *,
    items: str,
    value: str,
    label: str,
    auth: tuple[str, str] | None = None,
    bearer: str | None = None,
    allowed: Iterable[outbound.Network],
) -> list[tuple[str, str]]:
    """The (value, label) of each item the `items` JSONPath finds in the document at `url`,
    in order, without duplicate values. Raises ListProblem."""
    host = host_of(url)
    deadline = time.monotonic() + DEADLINE_SECONDS
    paths = _parsed(items=items, value=value, label=label)
    headers = {"Accept": "application/json"}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    session = requests.Session()
    # No proxy nor .netrc from the environment: the guard judges the real destination, and
    # only the template's credential is ever sent.
    session.trust_env = False
    with outbound.guard(allowed) as refused, session:
        try:
            with session.get(
                url,
                headers=headers,
                auth=auth,
                timeout=TIMEOUT_SECONDS,
                stream=True,
                allow_redirects=True,
            ) as response:
                body = _read(response, host=host, deadline=deadline)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            if refused:
                raise ListProblem(
                    f"Could not load the list from {host}: {', '.join(refused)} is not a public "
                    "address, and the deployment does not allow it."
                ) from None
            raise ListProblem(f"Could not load the list from {host}: {_reason(exc)}") from None
    try:
        document = json.loads(body)
    except ValueError:
        raise ListProblem(f"Could not load the list from {host}: the answer is not JSON.") from None
    except Exception:  # RecursionError (deep nesting), MemoryError, ...
        raise ListProblem(_unreadable(host)) from None
    return _extract(document, paths, host=host, deadline=deadline)


def _read(response: requests.Response, *, host: str, deadline: float) -> bytes:
    if response.status_code != 200:
        raise ListProblem(
            f"Could not load the list from {host}: it answered {response.status_code} "
            f"{response.reason or ''}".rstrip()
            + "."
        )
    body = b""
    # read1: whatever has arrived (up to 64 KiB), so that the deadline is checked while a
    # slow source sends its answer, not after; decoded (gzip...), as iter_content would.
    while chunk := response.raw.read1(64 * 1024, decode_content=True):
        body += chunk
        if len(body) > MAX_BYTES:
            raise ListProblem(
                f"Could not load the list from {host}: the answer is larger than "
                f"{MAX_BYTES // 2**20} MiB."
            )
        _check(deadline, host=host)
    return body


def _check(deadline: float | None, *, host: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise ListProblem(
            f"Could not load the list from {host}: no answer within {DEADLINE_SECONDS} s."
        )


def _unreadable(host: str) -> str:
    return f"Could not load the list from {host}: the answer could not be read."


def _reason(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS} s."
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects."
    if isinstance(exc, requests.exceptions.SSLError):
        return "its TLS certificate could not be verified."
    if isinstance(exc, requests.ConnectionError | urllib3.exceptions.ProtocolError):
        return "it could not be reached."
    return "the request failed."


def pairs(
    document: object, *, items: str, value: str, label: str, host: str = ""
) -> list[tuple[str, str]]:
    """The (value, label) pairs the JSONPaths find in `document`."""
    return _extract(document, _parsed(items=items, value=value, label=label), host=host)


def _parsed(*, items: str, value: str, label: str) -> tuple:
    try:
        return parse_jsonpath(items), parse_jsonpath(value), parse_jsonpath(label)
    except Exception:  # checked at sync; a manifest changed since is the list's problem
        raise ListProblem("The list's JSONPaths cannot be used.") from None


def _extract(
    document: object, paths: tuple, *, host: str, deadline: float | None = None
) -> list[tuple[str, str]]:
    items, value, label = paths
    try:
        matches = items.find(document)
        if len(matches) > MAX_MATCHES:
            raise ListProblem(
                f"Could not load the list from {host}: it has too many items (more than "
                f"{MAX_MATCHES})."
            )
        found: list[tuple[str, str]] = []
        seen: set[str] = set()
        for match in matches:
            _check(deadline, host=host)
            key = _first(value, match.value)
            if key is None or key in seen:
                continue
            seen.add(key)
            found.append((key, _first(label, match.value) or key))
            if len(found) > MAX_ITEMS:
                raise ListProblem(
                    f"Could not load the list from {host}: it has more than {MAX_ITEMS} items."
                )
    except ListProblem:
        raise
    except Exception:  # RecursionError on deep nesting, and whatever else a path meets
        raise ListProblem(_unreadable(host)) from None
    return found


def _first(path, item: object) -> str | None:
    matches = path.find(item)
    if not matches or matches[0].value is None:
        return None
    found = matches[0].value
    text = found if isinstance(found, str) else json.dumps(found)
    return text[:MAX_TEXT]
