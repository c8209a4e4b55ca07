"""Creating, changing and deleting credentials: platform engineers only, each audited
without a value (a secret field's change is recorded as MASK on both sides).

`user=None` is the platform itself (management commands); views and the API always pass
the request's user.
"""

import re
from collections.abc import Collection, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from audit import services as audit
from core import secrets
from core.errors import Conflict, InvalidRequest
from core.types import AnyUser
from credentials import types
from credentials.models import Credential, CredentialType
from teams import permissions

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
REQUIRED = "This field is required."


def create_credential(
    *,
    user: AnyUser | None,
    name: str,
    type: str,
    fields: Mapping[str, str | None],
    description: str = "",
    plain_variables: Collection[str] = (),
) -> Credential:
    """A new credential of `type` with its `fields` (for `env`, the variables; those in
    `plain_variables` are shown and not masked, the others secret)."""
    _check_user(user)
    errors: dict = {}
    name = (name or "").strip()
    if not NAME_RE.fullmatch(name):
        errors["name"] = ["A slug: lowercase letters, digits and '-', at most 100 characters."]
    elif Credential.objects.filter(name=name).exists():
        errors["name"] = [f"A credential named {name} already exists."]
    if type not in CredentialType.values:
        errors["type"] = [f"Choose among: {', '.join(CredentialType.values)}."]
        raise InvalidRequest(errors)
    values, hidden = _resolve(type, fields, plain_variables, {}, {}, errors)
    if errors:
        raise InvalidRequest(errors)
    try:
        with transaction.atomic():
            credential = Credential.objects.create(
                name=name,
                type=type,
                description=description or "",
                values=values,
                secrets=secrets.encrypt(values=hidden),
            )
            changes = {
                "type": [None, type],
                **_changes(
                    {}, {"description": credential.description, **values}, "", credential.secrets
                ),
            }
            audit.record(action="credential.created", actor=user, obj=credential, changes=changes)
    except IntegrityError as exc:
        raise InvalidRequest({"name": [f"A credential named {name} already exists."]}) from exc
    return credential


def update_credential(
    *,
    user: AnyUser | None,
    credential: Credential,
    fields: Mapping[str, str | None] | None = None,
    description: str | None = None,
    plain_variables: Collection[str] | None = None,
    name: str | None = None,
    type: str | None = None,
) -> Credential:
    """Change a credential's description and fields. A secret field sent as PLACEHOLDER or
    blank keeps its stored value; an `env` credential's `fields` are its whole set of
    variables. The name and the type are fixed once created."""
    _check_user(user)
    errors: dict = {}
    if name is not None and name != credential.name:
        errors["name"] = [
            "The name is fixed once created (templates name it): make a new credential."
        ]
    if type is not None and type != credential.type:
        errors["type"] = [
            "The type is fixed once created: make a new credential of the other type."
        ]
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential.pk)
        stored = secrets.decrypt(token=credential.secrets)
        if fields is None and plain_variables is None:
            values, hidden = dict(credential.values), stored
        else:
            values, hidden = _resolve(
                credential.type,
                fields if fields is not None else _kept(credential, stored),
                plain_variables if plain_variables is not None else list(credential.values),
                credential.values,
                stored,
                errors,
            )
        if errors:
            raise InvalidRequest(errors)
        before = {"description": credential.description, **credential.values}
        token_before = credential.secrets
        if description is not None:
            credential.description = description
        credential.values = values
        if hidden != stored:
            credential.secrets = secrets.encrypt(values=hidden)
        changes = _changes(
            before,
            {"description": credential.description, **values},
            token_before,
            credential.secrets,
        )
        if changes:
            credential.save()
            audit.record(action="credential.updated", actor=user, obj=credential, changes=changes)
    return credential


def delete_credential(*, user: AnyUser | None, credential: Credential) -> None:
    """Delete a credential that no template uses (refused, naming them, otherwise)."""
    _check_user(user)
    try:
        with transaction.atomic():
            audit.record(action="credential.deleted", actor=user, obj=credential)
            credential.delete()
    except ProtectedError:
        names = sorted(credential.templates.values_list("slug", flat=True))
        raise Conflict(
            f"{credential.name} is used by the templates {', '.join(names)}: remove it from "
            "their manifests (and sync the catalogue) first."
        ) from None


def _check_user(user: AnyUser | None) -> None:
    if user is not None:
        permissions.check_model(user, Credential)


def _kept(credential: Credential, stored: dict) -> dict:
    """The credential's fields as they are (secret ones as PLACEHOLDER: kept)."""
    return {**credential.values, **dict.fromkeys(stored, secrets.PLACEHOLDER)}


def _resolve(
    type: str,
    fields: Mapping,
    plain_variables: Collection[str],
    values: Mapping[str, str],
    stored: Mapping[str, str],
    errors: dict,
) -> tuple[dict[str, str], dict[str, str]]:
    """The plain and the secret values the sent `fields` make, given what is stored; the
    problems found go into errors["fields"] by field (or errors["plain_variables"])."""
    kind = types.KINDS[type]
    problems: dict[str, list[str]] = {}
    if not isinstance(fields, Mapping):
        errors["fields"] = {"": ["A mapping of field names to values."]}
        return {}, {}
    if kind.variables:
        plain, hidden = _resolve_variables(
            fields, plain_variables, values, stored, problems, errors
        )
    else:
        plain, hidden = _resolve_fields(kind, fields, values, stored, problems)
    if not problems:
        for field, messages in kind.check({**plain, **hidden}).items():
            problems.setdefault(field, []).extend(messages)
    if problems:
        errors["fields"] = problems
    return plain, hidden


def _kept_or_new(raw: Any, before: str | None) -> str | None:
    return before if raw in (None, "", secrets.PLACEHOLDER) else raw


def _text_problem(raw: Any) -> str | None:
    if raw is not None and not isinstance(raw, str):
        return "Must be text."
    if raw and len(raw) > types.MAX_VALUE:
        return f"At most {types.MAX_VALUE // 1024} KiB."
    return None


def _resolve_fields(
    kind: types.Kind, fields: Mapping, values: Mapping, stored: Mapping, problems: dict
) -> tuple[dict, dict]:
    plain: dict = {}
    hidden: dict = {}
    known = {field.name for field in kind.fields}
    for name in sorted(set(fields) - known):
        problems[name] = [f"Not a field of {kind.type} credentials ({', '.join(sorted(known))})."]
    for field in kind.fields:
        raw = fields.get(field.name)
        if _text_problem(raw):
            problems[field.name] = [_text_problem(raw)]
            continue
        if field.secret:
            # Absent, blank or PLACEHOLDER keeps the stored value; an explicit null clears it.
            cleared = field.name in fields and raw is None
            value = None if cleared else _kept_or_new(raw, stored.get(field.name))
        else:
            value = (raw.strip() if raw is not None else values.get(field.name)) or None
        if value is None:
            if field.required:
                problems[field.name] = [REQUIRED]
            continue
        (hidden if field.secret else plain)[field.name] = value
    return plain, hidden


def _resolve_variables(
    fields: Mapping,
    plain_variables: Collection[str] | None,
    values: Mapping,
    stored: Mapping,
    problems: dict,
    errors: dict,
) -> tuple[dict, dict]:
    plain: dict = {}
    hidden: dict = {}
    if not fields:
        problems[""] = ["Give at least one variable."]
    if len(fields) > types.MAX_VARIABLES:
        problems[""] = [f"At most {types.MAX_VARIABLES} variables."]
    shown = set(plain_variables or ())
    unknown = sorted(shown - set(fields))
    if unknown:
        errors["plain_variables"] = [f"Not among the variables: {', '.join(unknown)}."]
    for name, raw in fields.items():
        problem = types.variable_problem(str(name)) or _text_problem(raw)
        if problem:
            problems[name] = [problem]
            continue
        value = _kept_or_new(raw, stored.get(name, values.get(name)))
        if value is None:
            problems[name] = ["Give a value."]
        elif name in shown and name in stored and raw in (None, "", secrets.PLACEHOLDER):
            problems[name] = ["A secret variable becomes plain only with its value given again."]
        else:
            (plain if name in shown else hidden)[name] = value
    return plain, hidden


def _changes(before: dict, after: dict, token_before: str, token_after: str) -> dict:
    """What changed: plain values as [old, new], secret ones as [MASK or None, MASK or None]."""
    changes = audit.diff(before, after)
    for name, (old, new) in secrets.differences(before=token_before, after=token_after).items():
        was = changes.get(name, [None, None])
        changes[name] = [was[0] if old is None else old, was[1] if new is None else new]
    return dict(sorted(changes.items()))
