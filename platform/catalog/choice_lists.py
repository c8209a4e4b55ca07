"""Lists fetched for inputs whose choices come from a URL (`x-gangplank-choices: {url,
items, value, label}`), cached in ChoiceList rows that the web and worker processes share.

A list is fetched when it is first wanted and again once its `cache` time (5m unless the
manifest says) has passed, by one process at a time (the others show the known values while
it fetches); a fetch that fails keeps the last known values, says why, and is
tried again after at most RETRY. Fetches happen outside any transaction (a slow source must
not hold a transaction open); the row is written after.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone

from catalog.models import ChoiceList
from catalog.schema import value_is_valid
from core import listfetch
from core import secrets as secrets_
from core.durations import parse_duration
from credentials.models import Credential, CredentialType

DEFAULT_CACHE = "5m"
RETRY = timedelta(seconds=30)
UNUSED = timedelta(days=1)
# The credential types a list may be fetched with: how each is sent.
CREDENTIAL_TYPES = (CredentialType.TOKEN, CredentialType.PASSWORD)


@dataclass(frozen=True)
class Choices:
    """What an input may be set to: (value, label) pairs; `problem` says why the list may be
    stale or empty (shown by the field, and the reason a value is refused)."""

    options: list[tuple[str, str]] = field(default_factory=list)
    problem: str = ""

    @property
    def values(self) -> set[str]:
        return {value for value, _ in self.options}


def filled_url(source: dict, *, schema: dict, values: dict) -> str | None:
    """The source's URL with its `{depends_on}` placeholder filled with that input's value,
    percent-encoded (as data: never a template); None while that input is empty or its value
    is not one the input may have (its own schema's rules), or a dot segment (`.`, `..`:
    percent-encoding leaves them, and they would move the request up the path)."""
    url = source["url"]
    depends_on = source.get("depends_on")
    if not depends_on:
        return url
    value = values.get(depends_on)
    if value is None or value == "" or str(value) in (".", ".."):
        return None
    prop = (schema.get("properties") or {}).get(depends_on)
    if not isinstance(prop, dict) or not value_is_valid(prop, value):
        return None
    return url.replace("{" + depends_on + "}", quote(str(value), safe=""))


def listed(*, source: dict, url: str) -> Choices:
    """The choices the list at `url` (the source's, filled in) offers, fetched if need be."""
    # The row holds the pairs these JSONPaths extracted: another input fetching the same URL
    # with other paths has a row of its own.
    keyed = [url, source.get("credential") or "", source["items"], source["value"],
             source["label"]]  # fmt: skip
    key = hashlib.sha256(json.dumps(keyed).encode()).hexdigest()
    now = timezone.now()
    row = ChoiceList.objects.filter(key=key).first()
    if row is None or (row.fresh_until <= now and _claimed(row, now=now)):
        row = _refresh(row, key=key, source=source, url=url)
    return _choices(row)


def _claimed(row: ChoiceList, *, now) -> bool:
    """Whether this process is the one to refresh the row: the others meanwhile show the
    values it has (its fetch takes at most listfetch's deadline and timeout, well within
    RETRY, after which a claim whose process died is taken again)."""
    claim = ChoiceList.objects.filter(pk=row.pk, fresh_until=row.fresh_until)
    return claim.update(fresh_until=now + RETRY) == 1


def _refresh(row: ChoiceList | None, *, key: str, source: dict, url: str) -> ChoiceList:
    ttl = parse_duration(source.get("cache") or DEFAULT_CACHE)
    try:
        values = listfetch.fetch(
            url,
            items=source["items"],
            value=source["value"],
            label=source["label"],
            allowed=settings.GANGPLANK_LISTS_ALLOWED_NETWORKS,
            **_auth(source.get("credential")),
        )
    except listfetch.ListProblem as exc:
        now = timezone.now()
        changes: dict = {"last_error": str(exc), "fresh_until": now + min(ttl, RETRY)}
    else:
        now = timezone.now()
        changes = {"values": [list(pair) for pair in values], "fetched_at": now,
                   "fresh_until": now + ttl, "last_error": ""}  # fmt: skip
    row, _ = ChoiceList.objects.update_or_create(
        key=key, defaults={"host": listfetch.host_of(url)[:255], **changes}
    )
    # Lists nobody asked for in a while (a dependent list's old values, a changed URL) go.
    ChoiceList.objects.filter(fresh_until__lt=now - UNUSED).delete()
    return row


def _auth(name: str | None) -> dict:
    """requests' arguments for the named credential (checked at sync: token or password)."""
    if not name:
        return {}
    credential = Credential.objects.filter(name=name).first()
    if credential is None or credential.type not in CREDENTIAL_TYPES:
        raise listfetch.ListProblem(f"The list's credential {name!r} is missing or unusable.")
    values = {**credential.values, **secrets_.decrypt(token=credential.secrets)}
    if credential.type == CredentialType.TOKEN:
        return {"bearer": values.get("token", "")}
    return {"auth": (values.get("username", ""), values.get("password", ""))}


def _choices(row: ChoiceList) -> Choices:
    options = [(str(value), str(label)) for value, label in row.values]
    problem = row.last_error
    if problem and row.fetched_at is not None:
        known = row.fetched_at.astimezone(UTC)
        problem = (
            f"The list could not be refreshed: {problem} "
            f"Showing the values known at {known:%H:%M} UTC."
        )
    return Choices(options=options, problem=problem)
