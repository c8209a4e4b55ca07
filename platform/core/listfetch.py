"""Fetching a list of (value, label) pairs from a JSON document at a URL, for an input's
choices (`x-gangplank-choices: {url, items, value, label}`). Django-free: the allowed
networks and the credential's values are passed in.

GET only, through core.outbound's guard (public addresses only, every connection and each
redirect checked as it connects), with a short timeout, a size cap and a cap on the items.
Every failure is a ListProblem whose message names the host and the reason, never the URL's
query nor the credential.
"""

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

import requests
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext import parse as parse_jsonpath

from core import outbound

TIMEOUT_SECONDS = 5
MAX_BYTES = 1024 * 1024
MAX_ITEMS = 500
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
                body = _read(response, host=host)
        except requests.RequestException as exc:
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
    return pairs(document, items=items, value=value, label=label, host=host)


def _read(response: requests.Response, *, host: str) -> bytes:
    if response.status_code != 200:
        raise ListProblem(
            f"Could not load the list from {host}: it answered {response.status_code} "
            f"{response.reason or ''}".rstrip()
            + "."
        )
    body = b""
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > MAX_BYTES:
            raise ListProblem(
                f"Could not load the list from {host}: the answer is larger than "
                f"{MAX_BYTES // 2**20} MiB."
            )
    return body


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {TIMEOUT_SECONDS} s."
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects."
    if isinstance(exc, requests.exceptions.SSLError):
        return "its TLS certificate could not be verified."
    if isinstance(exc, requests.ConnectionError):
        return "it could not be reached."
    return "the request failed."


def pairs(
    document: object, *, items: str, value: str, label: str, host: str = ""
) -> list[tuple[str, str]]:
    """The (value, label) pairs the JSONPaths find in `document`."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for match in parse_jsonpath(items).find(document):
        key = _first(value, match.value)
        if key is None or key in seen:
            continue
        seen.add(key)
        found.append((key, _first(label, match.value) or key))
        if len(found) > MAX_ITEMS:
            raise ListProblem(
                f"Could not load the list from {host}: it has more than {MAX_ITEMS} items."
            )
    return found


def _first(path: str, item: object) -> str | None:
    matches = parse_jsonpath(path).find(item)
    if not matches or matches[0].value is None:
        return None
    found = matches[0].value
    text = found if isinstance(found, str) else json.dumps(found)
    return text[:MAX_TEXT]
