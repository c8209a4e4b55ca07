"""A template's custom day-2 actions, declared in its manifest:

    actions:
      restart:
        title: Restart
        description: Restarts the service's processes.
        playbook: restart.yml
        inputs: {type: object, properties: {force: {type: boolean, default: false}}}
        destructive: false            # true: the portal asks for confirmation
        approval: {when: {...}, approvers: ..., expires: ...}   # the template's rules
        on_failure: failed            # default: the service stays active

An action's name is a URL segment and the run's action; its inputs reach the playbook as
top-level variables beside the template's, so no name is shared. Pure: no database.
"""

from dataclasses import dataclass
from typing import Any

from catalog import approval
from catalog import schema as input_schema

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,39}$"
# The runs the platform itself makes: no custom action may take their names.
BUILT_IN = ("provision", "update", "upgrade", "deprovision", "preview", "drift_check")
ON_FAILURE = ("active", "failed")
EMPTY_INPUTS = {"type": "object", "properties": {}, "additionalProperties": False}

_APPROVAL_PROPERTIES: dict = approval.SCHEMA["properties"]  # type: ignore[assignment]
_APPROVAL = {
    **approval.SCHEMA,
    "properties": {k: v for k, v in _APPROVAL_PROPERTIES.items() if k != "actions"},
}
SCHEMA = {
    "type": "object",
    "propertyNames": {"pattern": NAME_PATTERN},
    "additionalProperties": {
        "type": "object",
        "required": ["title", "playbook"],
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 100},
            "description": {"type": "string"},
            "playbook": {"type": "string", "minLength": 1},
            "inputs": {"type": "object"},
            "destructive": {"type": "boolean"},
            "approval": _APPROVAL,
            "on_failure": {"enum": list(ON_FAILURE)},
        },
    },
}


@dataclass(frozen=True)
class Action:
    name: str
    title: str
    description: str
    playbook: str
    inputs: dict  # the JSON Schema its inputs are checked against (limited)
    destructive: bool
    on_failure: str
    approval: approval.Rule | None

    @property
    def has_inputs(self) -> bool:
        return bool(self.inputs.get("properties"))

    @property
    def fails_service(self) -> bool:
        return self.on_failure == "failed"


def declared(manifest: dict) -> dict[str, Action]:
    """The (already validated) manifest's actions by name, in the order the manifest declares
    them (kept in its ORDER: a stored manifest does not keep its keys' order)."""
    return {
        name: Action(
            name=name,
            title=spec["title"],
            description=spec.get("description", ""),
            playbook=spec["playbook"],
            inputs=input_schema.limited(spec.get("inputs") or EMPTY_INPUTS),
            destructive=bool(spec.get("destructive", False)),
            on_failure=spec.get("on_failure", "active"),
            approval=approval.parse(spec.get("approval"), actions=(name,)),
        )
        for name, spec in input_schema.in_order(
            manifest.get("actions") or {}, (manifest.get(input_schema.ORDER) or {}).get("actions")
        ).items()
    }


def prepared(actions: dict) -> dict:
    """The actions as stored: each with an inputs schema that rejects unknown inputs."""
    return {
        name: {**spec, "inputs": input_schema.prepared(spec.get("inputs") or EMPTY_INPUTS)}
        for name, spec in actions.items()
    }


def problems(actions: dict, template_inputs: dict) -> list[tuple[str, str]]:
    """What is wrong with a manifest's (shape-checked) `actions` beyond their shape and
    playbooks, as (field, message)."""
    found: list[tuple[str, str]] = []
    template_names = set((template_inputs or {}).get("properties") or {})
    for name, spec in actions.items():
        at = f"actions.{name}"
        if name in BUILT_IN:
            found.append((at, f"{name!r} is a built-in run; choose another name"))
        inputs: Any = spec.get("inputs") or EMPTY_INPUTS
        schema_problems = input_schema.schema_problems(inputs)
        found += [(f"{at}.inputs.{f}" if f else f"{at}.inputs", m) for f, m in schema_problems]
        own = (inputs.get("properties") or {}) if isinstance(inputs, dict) else {}
        for key, prop in own.items():
            if isinstance(prop, dict) and input_schema.is_secret(prop):
                found.append(
                    (f"{at}.inputs.properties.{key}", "not supported in an action's inputs")
                )
            if key in template_names:
                found.append(
                    (f"{at}.inputs.properties.{key}", "is already an input of the template")
                )
        if "approval" in spec:
            both = {"properties": {**(template_inputs.get("properties") or {}), **own}}
            found += [(f"{at}.{f}", m) for f, m in approval.problems(spec["approval"], both)]
    return found
