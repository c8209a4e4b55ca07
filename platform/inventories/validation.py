"""What an inventory and its hosts may hold: pure checks, each giving messages by field.

The services call these before writing; nothing here touches the database.
"""

import base64
import binascii
import ipaddress
import re
import struct
from typing import Any

INVENTORY_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
HOST_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
HOSTNAME_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
GROUP_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Ansible's implicit groups, and the one the platform puts a run's targets in.
RESERVED_GROUPS = frozenset({"all", "ungrouped", "targets"})
VARIABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The platform sets the host, port and user itself; of Ansible's connection variables, a
# host may only choose its Python and how to become another user.
ALLOWED_ANSIBLE_VARIABLES = re.compile(r"^ansible_(python_interpreter\Z|become)")
KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "ssh-rsa",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
HOST_FIELDS = ("name", "address", "port", "groups", "variables", "host_key")


def inventory_errors(*, name: Any, description: Any) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not INVENTORY_NAME_RE.fullmatch(name):
        errors["name"] = ["Lowercase letters, digits and hyphens, starting with a letter or digit."]
    if not isinstance(description, str):
        errors["description"] = ["Must be text."]
    return errors


def host_errors(spec: dict) -> dict[str, list[str]]:
    """Messages by field for one host's fields (those of HOST_FIELDS), none when sound."""
    checks = {
        "name": _name_problem,
        "address": _address_problem,
        "port": _port_problem,
        "groups": _groups_problem,
        "variables": _variables_problem,
        "host_key": _host_key_problem,
    }
    errors = {}
    for field, check in checks.items():
        message = check(spec.get(field))
        if message:
            errors[field] = [message]
    unknown = sorted(set(spec) - set(HOST_FIELDS))
    if unknown:
        errors["non_field_errors"] = [f"Unknown fields: {', '.join(unknown)}."]
    return errors


def _name_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not HOST_NAME_RE.fullmatch(value):
        return "Letters, digits, '.', '-' and '_' only (at most 255)."
    return None


def _address_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "A host name or an IP address is required."
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(HOSTNAME_LABEL_RE.fullmatch(label) for label in labels):
        return "Must be a host name (letters, digits, '-' between dots) or an IP address."
    return None


def _port_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return "Must be a whole number from 1 to 65535."
    return None


def _groups_problem(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(group, str) for group in value):
        return "Must be a list of group names."
    bad = [group for group in value if not GROUP_RE.fullmatch(group)]
    if bad:
        return f"Not a group name (letters, digits, _, not starting with a digit): {bad[0]!r}."
    reserved = sorted(set(value) & RESERVED_GROUPS)
    if reserved:
        return f"Reserved for the platform and Ansible: {', '.join(reserved)}."
    if len(set(value)) != len(value):
        return "Lists a group twice."
    return None


def _variables_problem(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "Must be a JSON object of variable names to values."
    for key in value:
        if not VARIABLE_RE.fullmatch(key):
            return f"{key!r} is not a variable name (letters, digits, _)."
        if key.startswith("ansible_") and not ALLOWED_ANSIBLE_VARIABLES.match(key):
            return (
                f"{key} is set by the platform; of ansible_* only ansible_python_interpreter "
                "and ansible_become* are allowed."
            )
    return None


def host_key_problem(value: Any) -> str | None:
    """A message unless `value` is one or more "<type> <base64>" lines (catalogue sources
    pin their ssh servers' keys the same way)."""
    return _host_key_problem(value)


def _host_key_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "At least one public key, '<type> <base64>' (ssh-keyscan's output, no host)."
    for number, line in enumerate(value.strip().splitlines(), start=1):
        message = _key_line_problem(line.strip())
        if message:
            return f"Line {number}: {message}"
    return None


def _key_line_problem(line: str) -> str | None:
    parts = line.split()
    if len(parts) != 2:
        return "must be '<type> <base64>' (drop the host name ssh-keyscan puts first)."
    kind, encoded = parts
    if kind not in KEY_TYPES:
        return f"unknown key type {kind!r}: use one of {', '.join(sorted(KEY_TYPES))}."
    try:
        blob = base64.b64decode(encoded, validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        embedded = blob[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        return "the key is not valid base64 of an SSH public key."
    if embedded != kind:
        return f"the key is of type {embedded!r}, not {kind!r}."
    return None


def host_keys(value: str) -> tuple[str, ...]:
    """The host key lines of a valid `host_key`, normalised to '<type> <base64>'."""
    return tuple(" ".join(line.split()) for line in value.strip().splitlines() if line.strip())
