"""Inputs that depend on others: `if`/`then`/`else` (several as `allOf: [{if, then, else}]`),
`dependentRequired` and `dependentSchemas` at the top of a template's `inputs` schema.

`problems` is what the catalogue's sync checks; `state` tells the form which inputs to show
and which to mark required for the values it has. The server's check is JSON Schema's own,
in catalog.schema.validate_inputs, for the API and the form alike.

The form's convention: an input named in a `then`, an `else` or a `dependentSchemas` branch
(in its `properties` or `required`) and not in the top-level `required` is shown only while a
branch naming it applies; `dependentRequired` makes inputs required (never hides them) while
their key input has a value.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from catalog.schema import (
    CHOICES,
    COMMON_KEYWORDS,
    KEYWORDS_BY_TYPE,
    PATTERN_MESSAGE,
    StrictValidator,
    readable,
    with_defaults,
)

# What a branch may say of a declared input: its type's constraints (not how it is shown, nor
# a pattern or format, whose messages are the input's own), `const` and `not`.
BRANCH_KEYWORDS = {"properties", "required"}
NOT_CONSTRAINTS = COMMON_KEYWORDS | {CHOICES, PATTERN_MESSAGE, "pattern", "format", "items"}
IF_KEYWORDS = {"if", "then", "else"}


@dataclass(frozen=True)
class State:
    """For the values a form has: the conditional inputs hidden now, the inputs required now
    (the top-level `required` with what the applying branches add; none of the hidden)."""

    hidden: frozenset[str]
    required: frozenset[str]


def problems(schema: Any) -> list[tuple[str, str]]:
    """The conditions' problems as (field, message), field relative to `inputs`: they may
    only name, and constrain, declared inputs."""
    if not isinstance(schema, dict) or not Draft202012Validator(
        Draft202012Validator.META_SCHEMA
    ).is_valid(schema):
        return []  # catalog.schema.schema_problems says why
    declared = schema.get("properties") or {}
    found = _condition_problems("", schema, declared)
    for index, item in enumerate(schema.get("allOf", [])):
        if not isinstance(item, dict) or "if" not in item or set(item) - IF_KEYWORDS:
            found.append((f"allOf.{index}", "must be {if, then, else}: one condition"))
        else:
            found += _condition_problems(f"allOf.{index}.", item, declared)
    for key, names in schema.get("dependentRequired", {}).items():
        found += _named_problems("dependentRequired", [key, *names], declared)
    for key, branch in schema.get("dependentSchemas", {}).items():
        found += _named_problems("dependentSchemas", [key], declared)
        found += _branch_problems(f"dependentSchemas.{key}", branch, declared)
    return found


def _condition_problems(where: str, condition: dict, declared: dict) -> list[tuple[str, str]]:
    found = []
    for key in ("if", "then", "else"):
        if key in condition:
            found += _branch_problems(f"{where}{key}", condition[key], declared)
            if key != "if" and "if" not in condition:
                found.append((f"{where}{key}", "is only used with if"))
    test = condition.get("if")
    if isinstance(test, dict) and isinstance(test.get("properties"), dict):
        # JSON Schema's test of a property holds when it has no value: a surprise.
        for name in sorted(set(test["properties"]) - set(test.get("required", []))):
            if isinstance(declared.get(name), dict) and "default" not in declared[name]:
                says = (
                    f"must name {name!r} (or it needs a default): without a value, its test holds"
                )
                found.append((f"{where}if.required", says))
    return found


def _named_problems(where: str, names: list, declared: dict) -> list[tuple[str, str]]:
    return [(where, f"names {n!r}, which is not in properties") for n in names if n not in declared]


def _branch_problems(where: str, branch: Any, declared: dict) -> list[tuple[str, str]]:
    if not isinstance(branch, dict):
        return [(where, "must be an object of properties and/or required")]
    found = [
        (f"{where}.{key}", "is not supported here") for key in sorted(set(branch) - BRANCH_KEYWORDS)
    ]
    found += _named_problems(f"{where}.required", branch.get("required", []), declared)
    for name, constraint in (branch.get("properties") or {}).items():
        field = f"{where}.properties.{name}"
        if name not in declared:
            found.append((field, "is not in the inputs' properties"))
        elif isinstance(declared[name], dict):
            found += [
                (f"{field}.{f}" if f else field, m)
                for f, m in _constraint_problems(constraint, declared[name])
            ]
    return found


def _constraint_problems(constraint: Any, prop: dict) -> list[tuple[str, str]]:
    if not isinstance(constraint, dict):
        return [("", "must be an object")]
    kind = prop.get("type")
    if kind not in KEYWORDS_BY_TYPE:
        return []  # the input's own problem
    allowed = (KEYWORDS_BY_TYPE[kind] - NOT_CONSTRAINTS) | {"const", "not"}
    found = [
        (key, f"is not supported in a condition on a {kind}")
        for key in sorted(set(constraint) - allowed)
    ]
    values = [("const", constraint["const"])] if "const" in constraint else []
    values += [("enum", value) for value in constraint.get("enum", [])]
    for key, value in values:
        found += [
            (key, readable(e, prop)) for e in StrictValidator({"type": kind}).iter_errors(value)
        ]
    if "not" in constraint:
        found += [
            (f"not.{f}" if f else "not", m)
            for f, m in _constraint_problems(constraint["not"], prop)
        ]
    return found


def _ifs(schema: dict) -> Iterator[dict]:
    """The schema's `{if, then, else}` conditions: its own, then those of its allOf."""
    if "if" in schema:
        yield schema
    for item in schema.get("allOf", []):
        if isinstance(item, dict) and "if" in item:
            yield item


def _named(branch: Any) -> set[str]:
    if not isinstance(branch, dict):
        return set()
    return set(branch.get("properties") or {}) | set(branch.get("required") or [])


def conditional(schema: dict) -> frozenset[str]:
    """The inputs the form shows only while a branch naming them applies."""
    branches = [c.get(key) for c in _ifs(schema) for key in ("then", "else")]
    branches += list((schema.get("dependentSchemas") or {}).values())
    named = set().union(*(_named(branch) for branch in branches))
    return frozenset(named - set(schema.get("required", [])))


def drivers(schema: dict) -> frozenset[str]:
    """The inputs whose value can change the form: named in an `if`, keys of
    `dependentRequired`/`dependentSchemas`, or another input's choices' `depends_on` (which
    may name what is not an input, such as the request page's `team`)."""
    names = set().union(*(_named(condition["if"]) for condition in _ifs(schema)))
    names |= set(schema.get("dependentRequired") or {}) | set(schema.get("dependentSchemas") or {})
    names &= set(schema.get("properties") or {})
    for prop in (schema.get("properties") or {}).values():
        source = prop.get(CHOICES) if isinstance(prop, dict) else None
        if isinstance(source, dict) and isinstance(source.get("depends_on"), str):
            names.add(source["depends_on"])
    return frozenset(names)


def state(schema: dict, values: dict) -> State:
    """Which conditional inputs are hidden and which inputs are required, for `values` (as a
    form has them: empty ones count as absent; defaults fill in, as on the server)."""
    given = {name: v for name, v in values.items() if v is not None and v != "" and v != []}
    given = with_defaults(schema, given)
    applying: list[Any] = []
    for condition in _ifs(schema):
        holds = StrictValidator(condition["if"]).is_valid(given)
        applying.append(condition.get("then" if holds else "else"))
    applying += [b for key, b in (schema.get("dependentSchemas") or {}).items() if key in given]
    shown = set().union(*(_named(branch) for branch in applying))
    hidden = conditional(schema) - shown
    required = set(schema.get("required", []))
    required |= {n for b in applying if isinstance(b, dict) for n in b.get("required", [])}
    for key, names in (schema.get("dependentRequired") or {}).items():
        if key in given:
            required |= set(names)
    return State(hidden=frozenset(hidden), required=frozenset(required - hidden))
