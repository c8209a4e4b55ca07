"""A service's inputs with their secrets: validated in the clear, stored apart.

Services and runs keep their inputs in `inputs` with PLACEHOLDER in place of each secret
input's value, and the secret values encrypted in `secrets`. Only the worker puts them
back together, for the playbook.
"""

from typing import cast

from catalog import conditions
from catalog.schema import secret_names, validate_inputs, with_defaults
from core import masking
from core import secrets as secrets_
from core.errors import InvalidRequest
from core.types import AnyUser
from provisioning import choices
from provisioning.models import Service
from provisioning.rules import carried_inputs, locked_inputs
from teams.models import Team


def plaintext(*, inputs: dict, secrets: dict) -> dict:
    """The inputs with their secret values (decrypted), as the playbook gets them."""
    return {**inputs, **secrets}


def merged(
    *,
    schema: dict,
    base: dict,
    given: dict,
    user: AnyUser,
    team: Team | None,
    service: Service | None = None,
    no_cycles: bool = False,
) -> dict:
    """`given` over `base`, plaintext, validated (defaults filled in), inputs with choices
    among what `user` may pick for `team` (provisioning.choices; `service`: the one being
    changed, which with `no_cycles` may not pick one that uses it). A secret sent back as
    PLACEHOLDER means "keep": `base`'s value, or none.
    Secret values never reach an error message."""
    if not isinstance(given, dict):
        return validate_inputs(schema, given)  # refused as not an object
    names = secret_names(schema)
    kept = {
        name: value
        for name, value in given.items()
        if not (name in names and value == secrets_.PLACEHOLDER)
    }
    inputs = {**base, **kept}
    try:
        valid = validate_inputs(schema, inputs)
        errors: dict = {}
    except InvalidRequest as exc:
        valid, errors = None, cast(dict, exc.errors["inputs"])
    # Picked values must be among their input's choices now (x-gangplank-choices).
    picked = choices.errors(
        schema=schema,
        user=user,
        team=team,
        values=with_defaults(schema, inputs),
        service=service,
        no_cycles=no_cycles,
    )
    for name, messages in picked.items():
        errors.setdefault(name, messages)
    if errors:
        hidden = [inputs[name] for name in names if isinstance(inputs.get(name), str)]
        raise InvalidRequest(masking.mask({"inputs": errors}, secrets=hidden)) from None
    assert valid is not None  # validation fails with errors
    return valid


def for_action(*, schema: dict, service: Service, user: AnyUser, given: dict) -> dict:
    """A custom action's own inputs (never secrets), valid for its `schema`, their choices
    those of the service's team."""
    return merged(
        schema=schema, base={}, given=given, user=user, team=service.team, service=service
    )


def for_request(*, version, given: dict, user: AnyUser, team: Team) -> tuple[dict, str]:
    """A request's inputs, valid for `version`, as (inputs, encrypted secrets)."""
    schema = version.inputs_schema
    inputs = merged(schema=schema, base={}, given=given, user=user, team=team)
    return split(schema=schema, inputs=inputs)


def for_change(*, service, version, given: dict, user: AnyUser) -> tuple[dict, str]:
    """The service's inputs with the `given` ones applied, valid for `version`, as (inputs,
    encrypted secrets).

    Inputs the version no longer declares are dropped, and so are those the new values hide
    (a condition's branch that named them no longer applies); `readOnly` inputs keep their
    value; a secret sent as PLACEHOLDER, or not sent, keeps its value.
    """
    schema = version.inputs_schema
    stored = secrets_.decrypt(token=service.secrets)
    current = plaintext(inputs=service.inputs, secrets=stored)
    carried = {name: current[name] for name in carried_inputs(service, version)}
    if isinstance(given, dict):  # what the new values hide (catalog.conditions) is dropped
        gone = conditions.state(schema, {**carried, **given}).hidden - set(given)
        carried = {name: value for name, value in carried.items() if name not in gone}
    inputs = merged(
        schema=schema,
        base=carried,
        given=given,
        user=user,
        team=service.team,
        service=service,
        no_cycles=True,
    )
    changed = [
        name for name in locked_inputs(service, version) if inputs.get(name) != current[name]
    ]
    if changed:
        raise InvalidRequest(
            {"inputs": {name: ["Cannot be changed after provisioning."] for name in changed}}
        )
    shown, hidden = _separate(schema=schema, inputs=inputs)
    # The same secrets keep their token: the same token then means the same secrets, which
    # the audit trail and the timeline tell without decrypting.
    if hidden == stored:
        return shown, service.secrets
    return shown, secrets_.encrypt(values=hidden)


def split(*, schema: dict, inputs: dict) -> tuple[dict, str]:
    """Valid plaintext inputs as (inputs with placeholders, encrypted secret values)."""
    shown, hidden = _separate(schema=schema, inputs=inputs)
    return shown, secrets_.encrypt(values=hidden)


def _separate(*, schema: dict, inputs: dict) -> tuple[dict, dict]:
    """(the inputs with PLACEHOLDER for each secret, the secret values)."""
    names = secret_names(schema)
    hidden = {name: value for name, value in inputs.items() if name in names}
    shown = {
        name: secrets_.PLACEHOLDER if name in names else value for name, value in inputs.items()
    }
    return shown, hidden


_MISSING = object()


def changes(*, before: dict, after: dict, before_secrets: str, after_secrets: str) -> dict:
    """What differs between two sets of inputs (with PLACEHOLDER for each secret) and their
    encrypted secrets, as name -> [before, after], None on the side an input is missing
    from; in `before`'s order, then `after`'s. A secret is compared by decrypting both
    tokens and shows as [MASK or None, MASK or None]: what changed, never what it is.

    The one place where inputs are compared for people: the audit trail, the approvers and
    the timeline. Raises UnreadableSecrets when no key decrypts a token.
    """
    hidden = secrets_.differences(before=before_secrets, after=after_secrets)
    plain = {
        name: [before.get(name), after.get(name)]
        for name in {**before, **after}
        if name not in hidden and before.get(name, _MISSING) != after.get(name, _MISSING)
    }
    return {**plain, **hidden}


def audit_changes(*, service, inputs: dict, secrets: str) -> dict:
    """What new inputs change in the service's (see `changes`)."""
    return changes(
        before=service.inputs, after=inputs, before_secrets=service.secrets, after_secrets=secrets
    )
