"""Template input schemas: what a manifest may declare, and validating requests against it.

The same `validate_inputs` serves the portal's form and the API, through the jsonschema
library; the form only parses widget values into JSON types before calling it.

Where JSON Schema is looser than what a playbook should get, the validator is stricter:
- `type: integer` is a JSON integer: 1.0 is refused (JSON Schema counts it as an integer,
  and it would reach the playbook as a float);
- a `pattern` must match the whole value, as HTML's `pattern` attribute would: `^`/`$` are
  implied, and `$` never matches before a final newline (Python's does);
- a string input without `maxLength` gets DEFAULT_MAX_LENGTH.

A value a pattern refuses is told what is expected in words, never the regex:
`x-gangplank-pattern-message` when the input has one, else its `description`.
"""

import json
import re
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import SchemaError

from catalog.choice_specs import CHOICES, choice_kind, depends_on_problems, source_problems
from core.errors import InvalidRequest

COMMON_KEYWORDS = {"type", "title", "description", "default", "readOnly", "writeOnly", "examples"}
KEYWORDS_BY_TYPE = {
    "string": COMMON_KEYWORDS | {"pattern", "minLength", "maxLength", "enum", "format"},
    "integer": COMMON_KEYWORDS | {"minimum", "maximum", "enum"},
    "number": COMMON_KEYWORDS | {"minimum", "maximum", "enum"},
    "boolean": COMMON_KEYWORDS,
    # Only to pick several hosts of an inventory's group (x-gangplank-choices).
    "array": COMMON_KEYWORDS | {"items", "minItems", "maxItems", "uniqueItems"},
}
for _kind in ("string", "array"):
    KEYWORDS_BY_TYPE[_kind] = KEYWORDS_BY_TYPE[_kind] | {CHOICES}
# What a value the input's `pattern` refuses is told, in words (a string input's own).
PATTERN_MESSAGE = "x-gangplank-pattern-message"
KEYWORDS_BY_TYPE["string"] = KEYWORDS_BY_TYPE["string"] | {PATTERN_MESSAGE}
TOP_KEYWORDS = {"type", "required", "properties", "additionalProperties", "title", "description"}
# Inputs that depend on others: catalog.conditions checks and evaluates them.
CONDITION_KEYWORDS = {"if", "then", "else", "allOf", "dependentRequired", "dependentSchemas"}
TOP_KEYWORDS = TOP_KEYWORDS | CONDITION_KEYWORDS
# Where a stored schema keeps the order its inputs were declared in (see `prepared`).
ORDER = "x-gangplank-order"
# Inputs become Ansible variables: valid identifiers, clear of Ansible's and the platform's own.
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_NAMES = {"gangplank", "hostvars", "groups", "inventory_hostname", "omit", "vars"}
NOT_AN_OBJECT = "Must be an object of input names to values."
# The longest string an input may be when its schema says no maxLength.
DEFAULT_MAX_LENGTH = 4096


def _is_integer(checker, instance) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _whole_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and re.fullmatch(pattern, instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


StrictValidator = validators.extend(
    Draft202012Validator,
    validators={"pattern": _whole_pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def _validator(schema: dict):
    return StrictValidator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _path(parts) -> str:
    return ".".join(str(part) for part in parts)


def schema_problems(schema: Any) -> list[tuple[str, str]]:
    """Problems of an `inputs` schema as (field, message), field relative to `inputs`."""
    if not isinstance(schema, dict):
        return [("", "must be a JSON Schema object")]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [(_path(exc.path), f"invalid JSON Schema: {exc.message}")]
    problems = [(key, "is not supported here") for key in sorted(set(schema) - TOP_KEYWORDS)]
    if schema.get("type") != "object":
        problems.append(("type", "must be 'object'"))
    if schema.get("additionalProperties", False) is not False:
        problems.append(("additionalProperties", "must be false: unknown inputs are rejected"))
    properties = schema.get("properties") or {}
    for name in schema.get("required", []):
        if name not in properties:
            problems.append(("required", f"names {name!r}, which is not in properties"))
    problems += depends_on_problems(properties, secrets=secret_names(schema))
    for name, prop in properties.items():
        if not NAME_RE.fullmatch(name) or name in RESERVED_NAMES or name.startswith("ansible_"):
            problems.append(
                (
                    f"properties.{name}",
                    "must be a variable name (letters, digits, _) "
                    "that is not reserved (gangplank, ansible_*, hostvars, ...)",
                )
            )
            continue
        problems += [
            (f"properties.{name}.{f}" if f else f"properties.{name}", m)
            for f, m in _property_problems(prop)
        ]
    return problems


def _property_problems(prop: Any) -> list[tuple[str, str]]:
    if not isinstance(prop, dict):
        return [("", "must be an object")]
    kind = prop.get("type")
    if kind not in KEYWORDS_BY_TYPE:
        return [("type", "must be one of string, integer, number, boolean, array")]
    problems = [
        (key, f"is not supported for type {kind}")
        for key in sorted(set(prop) - KEYWORDS_BY_TYPE[kind])
    ]
    if CHOICES in prop:
        problems += source_problems(prop[CHOICES], kind=kind)
    if PATTERN_MESSAGE in prop and kind == "string":
        problems += _pattern_message_problems(prop)
    if kind == "array":
        if choice_kind(prop.get(CHOICES)) != "inventory":
            problems.append(("type", f"array is only for picking hosts, with {CHOICES}"))
        if prop.get("items") != {"type": "string"}:
            problems.append(("items", "must be {type: string}: host names"))
    if is_secret(prop):
        if kind != "string":
            problems.append(("type", "must be string for a secret (format: password or writeOnly)"))
        if "default" in prop:
            return [
                *problems,
                ("default", "is not allowed for a secret input: it would sit in the repository"),
            ]
    if "default" in prop:
        problems += [
            ("default", _default_problem(error, prop))
            for error in _validator(limited_property(prop)).iter_errors(prop["default"])
        ]
    return problems


def _default_problem(error, prop: dict) -> str:
    # For the template's author: the pattern is theirs, its words are for requesters.
    return "Does not match the pattern." if error.validator == "pattern" else readable(error, prop)


def _pattern_message_problems(prop: dict) -> list[tuple[str, str]]:
    message = prop[PATTERN_MESSAGE]
    if not isinstance(message, str) or not message.strip():
        return [(PATTERN_MESSAGE, "must be a non-empty string")]
    if "pattern" not in prop:
        return [(PATTERN_MESSAGE, "is only used with a pattern")]
    return []


def pattern_message(prop: dict) -> str:
    """What a value the input's pattern refuses is told: what is expected, in words."""
    message = prop.get(PATTERN_MESSAGE)
    if isinstance(message, str) and message.strip():
        return message.strip()
    description = prop.get("description")
    if isinstance(description, str) and description.strip():
        return f"Not in the expected form: {description.strip()}"
    return "Not in the expected form."


def is_secret(prop: dict) -> bool:
    """A secret input: encrypted at rest, masked wherever it could show, never returned."""
    return prop.get("format") == "password" or prop.get("writeOnly") is True


def secret_names(schema: dict) -> frozenset[str]:
    """The names of the schema's secret inputs (`format: password` or `writeOnly: true`)."""
    return frozenset(
        name
        for name, prop in (schema.get("properties") or {}).items()
        if isinstance(prop, dict) and is_secret(prop)
    )


def prepared(schema: dict) -> dict:
    """The schema as stored: unknown inputs are always rejected, and the inputs' order is
    kept in ORDER (PostgreSQL's jsonb keeps keys in an order of its own)."""
    return {
        **schema,
        "additionalProperties": False,
        ORDER: list(schema.get("properties") or {}),
    }


def in_order(mapping: dict, order: Any) -> dict:
    """`mapping` with the keys `order` lists first, in that order, then the others."""
    if not isinstance(order, list):
        return mapping
    first = {key: mapping[key] for key in order if key in mapping}
    return {**first, **{key: value for key, value in mapping.items() if key not in first}}


def limited(schema: dict) -> dict:
    """The schema with DEFAULT_MAX_LENGTH on every string input (and picked host name) that
    declares no maxLength."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return schema
    properties = in_order(properties, schema.get(ORDER))
    return {
        **schema,
        "properties": {name: limited_property(prop) for name, prop in properties.items()},
    }


def limited_property(prop: Any) -> Any:
    if not isinstance(prop, dict):
        return prop
    if prop.get("type") == "string" and "maxLength" not in prop:
        return {**prop, "maxLength": DEFAULT_MAX_LENGTH}
    if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
        return {**prop, "items": limited_property(prop["items"])}
    return prop


def value_is_valid(prop: dict, value: Any) -> bool:
    """Whether `value` is one the input `prop` describes may have (as entered in a form, a
    number may still be text)."""
    if isinstance(value, str) and prop.get("type") in ("integer", "number"):
        try:
            value = int(value) if prop["type"] == "integer" else float(value)
        except ValueError:
            return False
    return _validator(limited_property(prop)).is_valid(value)


def with_defaults(schema: dict, inputs: dict) -> dict:
    defaults = {
        name: prop["default"]
        for name, prop in (schema.get("properties") or {}).items()
        if "default" in prop
    }
    return {**defaults, **inputs}


def validate_inputs(schema: dict, inputs: Any) -> dict:
    """The inputs with defaults filled in, or InvalidRequest with messages keyed by input."""
    if not isinstance(inputs, dict):
        raise InvalidRequest({"inputs": [NOT_AN_OBJECT]})
    inputs = with_defaults(schema, inputs)
    validator = _validator(limited(schema))
    errors: dict[str, list[str]] = {}
    for error in validator.iter_errors(inputs):
        for key, message in _keyed(error, schema, inputs):
            if message not in errors.setdefault(key, []):  # each error names all it misses
                errors[key].append(message)
    if errors:
        raise InvalidRequest({"inputs": errors})
    return inputs


def _keyed(error, schema: dict, inputs: dict) -> list[tuple[str, str]]:
    if error.path:
        name = str(error.path[0])
        prop = (schema.get("properties") or {}).get(name)
        return [(name, readable(error, prop if isinstance(prop, dict) else {}))]
    if error.validator == "required":  # at the top, in a branch of a condition: its names
        missing = [n for n in error.validator_value if n not in inputs]
        return [(name, _required_message(error, schema)) for name in missing]
    if error.validator == "dependentRequired":
        return [
            (name, f"Required when {_title(schema, key)} is given.")
            for key, names in error.validator_value.items()
            if key in inputs
            for name in names
            if name not in inputs
        ]
    if error.validator == "additionalProperties":
        known = set(schema.get("properties") or {})
        return [(name, "Unknown input.") for name in sorted(set(inputs) - known)]
    return [("", readable(error, schema))]


def _required_message(error, schema: dict) -> str:
    where = list(error.schema_path)
    if len(where) >= 3 and where[-3] == "dependentSchemas":
        return f"Required when {_title(schema, where[-2])} is given."
    return "This input is required."


def _title(schema: dict, name: str) -> str:
    prop = (schema.get("properties") or {}).get(name)
    return (prop.get("title") if isinstance(prop, dict) else None) or name


def readable(error, prop: dict) -> str:
    """A message for people, rather than jsonschema's repr of the instance; `prop` is the
    schema of the value it is about (a pattern's message or description)."""
    value = error.validator_value
    match error.validator:
        case "type":
            return f"Must be of type {value}."
        case "pattern":
            return pattern_message(prop)
        case "minLength":
            return f"Must be at least {value} characters long."
        case "maxLength":
            return f"Must be at most {value} characters long."
        case "minimum":
            return f"Must be at least {value}."
        case "maximum":
            return f"Must be at most {value}."
        case "enum":
            return "Must be one of: " + ", ".join(str(choice) for choice in value) + "."
        case "format":
            return f"Must be a valid {value}."
        case "minItems":
            return f"Pick at least {value}."
        case "maxItems":
            return f"Pick at most {value}."
        case "uniqueItems":
            return "Pick each one once."
        case "const":
            return f"Must be {json.dumps(value)}."
        case "not":
            return "This value is not allowed here."
    return error.message[:1].upper() + error.message[1:] + "."
