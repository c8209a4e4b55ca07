"""`x-gangplank-choices`: where an input's choices come from, as a manifest declares it,
and what is wrong with a declaration (catalog.schema asks, for each input that has one).
Pure: the choices themselves are provisioning.choices'.
"""

import re
from typing import Any

from core.durations import DURATION_PATTERN
from core.listfetch import jsonpath_problem

# An input whose value is picked from a list the platform feeds (see choice_kind): hosts of
# an inventory's group (a string picks one, an array several), one of the requester team's
# services of a template, or the items of a JSON document fetched from a URL.
CHOICES = "x-gangplank-choices"
CHOICE_KINDS = ("inventory", "services", "url")
CHOICE_KEYS = {
    "inventory": {"inventory", "group"},
    "services": {"services"},
    "url": {"url", "items", "value", "label", "cache", "credential", "depends_on"},
}
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
CHOICES_GROUP_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def depends_on_problems(properties: dict, *, secrets: frozenset[str]) -> list[tuple[str, str]]:
    """A `depends_on` must name another input of the schema, and not a secret one (its value
    would go into a URL)."""
    problems = []
    for name, source in choice_sources({"properties": properties}).items():
        depends_on = source.get("depends_on")
        at = f"properties.{name}.{CHOICES}.depends_on"
        if isinstance(depends_on, str) and (depends_on == name or depends_on not in properties):
            problems.append((at, "must name another input"))
        elif depends_on in secrets:
            problems.append((at, "must not be a secret"))
    return problems


def source_problems(source: Any, *, kind: str) -> list[tuple[str, str]]:
    """Problems of an input's `x-gangplank-choices`: one of the CHOICE_KINDS, each with its
    own keys (see choice_kind); a URL's may depend on another input (`depends_on`), whose
    value fills its `{name}` placeholder."""
    found = choice_kind(source)
    if found is None:
        return [(CHOICES, "must be {inventory, group}, {services: {template}} or {url, items, "
                          "value, label}")]  # fmt: skip
    allowed = CHOICE_KEYS[found]
    problems = [
        (f"{CHOICES}.{key}", "is not supported here") for key in sorted(set(source) - allowed)
    ]
    if found == "inventory":
        if not all(
            isinstance(source.get(k), str) and source.get(k) for k in ("inventory", "group")
        ):
            return [(CHOICES, "must be {inventory: <name>, group: <group>} (both strings)")]
        if not CHOICES_GROUP_RE.fullmatch(source["group"]):
            problems.append(
                (f"{CHOICES}.group", "must be a group name (letters, digits, _) or all")
            )
    elif found == "services":
        services = source["services"]
        template = services.get("template") if isinstance(services, dict) else None
        if (
            not isinstance(services, dict)
            or set(services) != {"template"}
            or not (isinstance(template, str) and SLUG_RE.fullmatch(template))
        ):
            problems.append((f"{CHOICES}.services", "must be {template: <a template's slug>}"))
        if kind != "string":
            problems.append(("type", "must be string to pick a service (its id)"))
    else:
        problems += _url_problems(source)
    if kind == "array" and found != "inventory":
        problems.append(("type", "array is only for picking hosts"))
    depends_on = source.get("depends_on")
    if depends_on is not None and not (
        isinstance(depends_on, str) and NAME_RE.fullmatch(depends_on)
    ):
        problems.append((f"{CHOICES}.depends_on", "must name another input"))
    return problems


def _url_problems(source: dict) -> list[tuple[str, str]]:
    problems = []
    url = source["url"]
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
        problems.append((f"{CHOICES}.url", "must be an http:// or https:// URL"))
    for key in ("items", "value", "label"):
        value = source.get(key)
        if not isinstance(value, str) or not value.startswith("$"):
            problems.append((f"{CHOICES}.{key}", "must be a JSONPath, such as $.items[*]"))
        elif problem := jsonpath_problem(value):
            problems.append((f"{CHOICES}.{key}", problem))
    if "cache" in source and not (
        isinstance(source["cache"], str) and re.fullmatch(DURATION_PATTERN, source["cache"])
    ):
        problems.append((f"{CHOICES}.cache", "must be a duration, such as 5m or 1h"))
    credential = source.get("credential")
    if credential is not None and not (
        isinstance(credential, str) and SLUG_RE.fullmatch(credential)
    ):
        problems.append((f"{CHOICES}.credential", "must name a credential"))
    depends_on = source.get("depends_on")
    if isinstance(depends_on, str) and isinstance(url, str):
        placeholder = "{" + depends_on + "}"
        # A value must not choose where the credential goes: scheme, user, host and port stay.
        authority = re.match(r"^[^:/?#]*:?/*([^/?#]*)", url)
        outside = (authority.group(0) if authority else "") + url.partition("#")[2]
        if placeholder not in url:
            problems.append((f"{CHOICES}.url", f"must hold {placeholder}, the value it depends on"))
        elif placeholder in outside:
            problems.append(
                (f"{CHOICES}.url", f"may hold {placeholder} only in its path or its query")
            )
    return problems


def choice_kind(source: Any) -> str | None:
    """Which of the CHOICE_KINDS an `x-gangplank-choices` value is: "inventory" (hosts of an
    inventory's group), "services" (the requester team's active services of a template) or
    "url" (a list fetched by the server); None when it is none of them."""
    if not isinstance(source, dict):
        return None
    kinds = [kind for kind in CHOICE_KINDS if kind in source]
    return kinds[0] if len(kinds) == 1 else None


def choice_sources(schema: dict, kind: str | None = None) -> dict[str, dict]:
    """The inputs of a schema with choices (of `kind`, when given): name -> the source."""
    return {
        name: prop[CHOICES]
        for name, prop in (schema.get("properties") or {}).items()
        if isinstance(prop, dict)
        and choice_kind(prop.get(CHOICES)) is not None
        and (kind is None or choice_kind(prop[CHOICES]) == kind)
    }


def service_inputs(schema: dict) -> dict[str, str]:
    """The inputs that pick another service: name -> the slug of that service's template."""
    return {
        name: source["services"]["template"]
        for name, source in choice_sources(schema, "services").items()
    }
