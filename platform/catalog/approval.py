"""A template's approval rule: which requests wait for an approver, declared in its manifest.

    approval:
      when: {environment: prod}        # optional: every listed input has (one of) the value(s)
      approvers: platform              # "platform" (the default) or a team's slug
      actions: [provision, update]     # default: provision, update, deprovision
      expires: 7d                      # undecided requests lapse after this (default 7d)

No Jinja: the rule is data, matched against the request's inputs. An upgrade runs the
update playbook, so "update" covers it; previews and drift checks change nothing and never
wait. Pure: no database.
"""

from dataclasses import dataclass
from datetime import timedelta

from core.durations import DURATION_PATTERN, parse_duration

PLATFORM = "platform"
ACTIONS = ("provision", "update", "deprovision")
# Run actions -> the manifest's action names.
RULE_ACTION = {
    "provision": "provision",
    "update": "update",
    "upgrade": "update",
    "deprovision": "deprovision",
}
DEFAULT_EXPIRES = "7d"
MAX_EXPIRES = timedelta(days=90)

_SCALAR = {"type": ["string", "number", "boolean"]}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "when": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "anyOf": [_SCALAR, {"type": "array", "items": _SCALAR, "minItems": 1}]
            },
        },
        "approvers": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]{0,49}$"},
        "actions": {
            "type": "array",
            "items": {"enum": list(ACTIONS)},
            "minItems": 1,
            "uniqueItems": True,
        },
        "expires": {"type": "string", "pattern": DURATION_PATTERN},
    },
}


@dataclass(frozen=True)
class Rule:
    approvers: str
    actions: frozenset[str]
    when: dict
    expires: timedelta

    def applies(self, *, action: str, inputs: list[dict]) -> bool:
        """Whether a run of `action` needs approval, given the inputs it touches (for an
        update, both the service's current inputs and the new ones)."""
        # A custom action (catalog.actions) is its own rule's action.
        if RULE_ACTION.get(action, action) not in self.actions:
            return False
        return not self.when or any(self._matches(values) for values in inputs)

    def _matches(self, inputs: dict) -> bool:
        for name, expected in self.when.items():
            allowed = expected if isinstance(expected, list) else [expected]
            if name not in inputs or inputs[name] not in allowed:
                return False
        return True

    @property
    def by_platform(self) -> bool:
        return self.approvers == PLATFORM


def parse(declared: dict | None, *, actions: tuple[str, ...] | None = None) -> Rule | None:
    """The rule of a manifest's (already validated) `approval`, or None when it has none;
    `actions`: those it covers, for a custom action's own rule."""
    if declared is None:
        return None
    return Rule(
        approvers=declared.get("approvers", PLATFORM),
        actions=frozenset(actions or declared.get("actions", ACTIONS)),
        when=dict(declared.get("when") or {}),
        expires=parse_duration(declared.get("expires", DEFAULT_EXPIRES)),
    )


def problems(declared: dict, inputs_schema: dict) -> list[tuple[str, str]]:
    """What is wrong with a manifest's `approval` beyond its shape, as (field, message)."""
    found = []
    declared_inputs = (inputs_schema or {}).get("properties") or {}
    for name in declared.get("when") or {}:
        if name not in declared_inputs:
            found.append((f"approval.when.{name}", "is not an input of this template"))
    if parse_duration(declared.get("expires", DEFAULT_EXPIRES)) > MAX_EXPIRES:
        found.append(("approval.expires", f"must be at most {MAX_EXPIRES.days}d"))
    return found
