"""A template's custom day-2 actions (`actions:` in its manifest), as the sync checks them."""

import pytest

from catalog.models import Template
from catalog.services import sync_catalog
from conftest import write_template

pytestmark = pytest.mark.django_db

PLAYBOOKS = {"provision": "p.yml", "update": "p.yml", "deprovision": "p.yml"}
TEMPLATE_INPUTS = {
    "type": "object",
    "properties": {"environment": {"type": "string", "enum": ["dev", "prod"], "default": "dev"}},
}


def manifest(actions: dict) -> dict:
    return {
        "name": "Operated",
        "version": "1.0.0",
        "inputs": TEMPLATE_INPUTS,
        "playbooks": PLAYBOOKS,
        "actions": actions,
    }


def action(**changes) -> dict:
    return {"title": "Restart", "playbook": "p.yml", **changes}


def inputs(**properties) -> dict:
    return {"type": "object", "properties": properties}


def test_it_loads_actions_with_their_inputs_closed_to_unknown_ones(tmp_path):
    declared = {
        "restart": action(
            description="Restarts it.",
            destructive=True,
            on_failure="failed",
            inputs=inputs(force={"type": "boolean", "default": False}),
            approval={"when": {"force": True, "environment": "prod"}, "approvers": "beta"},
        ),
        "flush-cache": action(title="Flush the cache"),
    }
    write_template(tmp_path, "operated", manifest=manifest(declared))

    report = sync_catalog(directory=tmp_path)

    assert report.problems == []
    version = Template.objects.get(slug="operated").current_version
    actions = version.actions
    assert list(actions) == ["flush-cache", "restart"]  # by name
    restart = actions["restart"]
    assert (restart.title, restart.destructive, restart.fails_service) == ("Restart", True, True)
    assert restart.inputs["additionalProperties"] is False
    assert restart.approval.approvers == "beta" and restart.approval.actions == {"restart"}
    flush = actions["flush-cache"]
    assert not flush.has_inputs and not flush.destructive and not flush.fails_service


@pytest.mark.parametrize(
    "declared, field, words",
    [
        ({"restart": action(playbook="missing.yml")}, "actions.restart.playbook", "does not exist"),
        ({"restart": action(playbook="../x/p.yml")}, "actions.restart.playbook", "leaves"),
        (
            {"restart": action(inputs=inputs(n={"type": "strin"}))},
            "actions.restart.inputs.properties.n.type",
            "invalid JSON Schema",
        ),
        (
            {"restart": action(inputs=inputs(n={"type": "object"}))},
            "actions.restart.inputs.properties.n.type",
            "must be one of",
        ),
        ({"Restart": action()}, "actions", "does not match"),
        ({"re_start": action()}, "actions", "does not match"),
        ({"r" * 41: action()}, "actions", "does not match"),
        ({"update": action()}, "actions.update", "built-in"),
        ({"drift_check": action()}, "actions", "does not match"),
        ({"restart": {"playbook": "p.yml"}}, "actions.restart", "'title' is a required"),
        ({"restart": action(title="")}, "actions.restart.title", "should be non-empty"),
        (
            {"restart": action(inputs=inputs(pw={"type": "string", "format": "password"}))},
            "actions.restart.inputs.properties.pw",
            "not supported in an action's inputs",
        ),
        (
            {"restart": action(inputs=inputs(pw={"type": "string", "writeOnly": True}))},
            "actions.restart.inputs.properties.pw",
            "not supported in an action's inputs",
        ),
        (
            {"restart": action(inputs=inputs(environment={"type": "string"}))},
            "actions.restart.inputs.properties.environment",
            "already an input of the template",
        ),
        (
            {"restart": action(approval={"actions": ["update"]})},
            "actions.restart.approval",
            "'actions' was unexpected",
        ),
        (
            {"restart": action(approval={"when": {"nobody": 1}})},
            "actions.restart.approval.when.nobody",
            "is not an input of this template",
        ),
        (
            {"restart": action(on_failure="retry")},
            "actions.restart.on_failure",
            "is not one of",
        ),
        (
            {"restart": action(destructive="yes")},
            "actions.restart.destructive",
            "is not of type 'boolean'",
        ),
        ({"restart": action(colour="red")}, "actions.restart", "'colour' was unexpected"),
    ],
)
def test_a_broken_actions_section_is_the_templates_error(tmp_path, declared, field, words):
    write_template(tmp_path, "operated", manifest=manifest(declared))

    report = sync_catalog(directory=tmp_path)

    problems = [p for p in report.problems if p["file"].startswith("operated")]
    assert problems, report.problems
    assert problems[0]["file"] == "operated/template.yml"
    assert problems[0]["field"] == field, problems
    assert words in problems[0]["message"], problems
    assert Template.objects.get(slug="operated").current_version is None


def test_an_action_runs_on_an_active_service_and_again_on_one_it_failed():
    from catalog.actions import declared
    from provisioning.rules import status_after_custom
    from provisioning.states import custom_action_available

    def available(status, failed_action=""):
        return custom_action_available(action="repair", status=status, failed_action=failed_action)

    assert available("active")
    assert available("failed", failed_action="repair")
    assert not available("failed", failed_action="update")
    assert not available("failed", failed_action="provision")
    for status in ("provisioning", "updating", "deprovisioning", "deprovisioned"):
        assert not available(status)

    actions = declared({"actions": {
        "repair": action(on_failure="failed"), "wobble": action(), "check": action(),
    }})  # fmt: skip
    repair, wobble = actions["repair"], actions["wobble"]
    assert status_after_custom(action=repair, status="active", succeeded=True) == "active"
    assert status_after_custom(action=repair, status="failed", succeeded=True) == "active"
    assert status_after_custom(action=repair, status="active", succeeded=False) == "failed"
    assert status_after_custom(action=wobble, status="active", succeeded=False) == "active"
    assert list(actions) == ["repair", "wobble", "check"]  # as declared
