"""Custom day-2 actions through the API, run by a real worker with real playbooks (the
`operable` test template: tests/catalog/operable)."""

from pathlib import Path

import pytest
from django.conf import settings

from audit.models import AuditEvent
from conftest import api_client_for, request_via_api, wait_for_run
from provisioning.models import Run

pytestmark = pytest.mark.worker


def active_service(api, name="ops-box", **inputs) -> dict:
    created = request_via_api(api, "operable", name, {"message": "hello", **inputs})
    wait_for_run(api, created["last_run"]["id"])
    service = api.get(f"/api/services/{created['id']}/").json()
    assert service["status"] == "active", service
    return service


def act(api, service_id, name, inputs=None):
    body = {} if inputs is None else {"inputs": inputs}
    return api.post(f"/api/services/{service_id}/actions/{name}/", body, format="json")


def note_file(service_id) -> Path:
    return Path(settings.RESOURCES_DIR) / f"operable-{service_id}.txt"


def test_it_runs_a_custom_action_with_its_inputs_reaching_the_playbook(
    worker, catalog, api, teams, ops
):
    from notifications.models import Delivery
    from notifications.services import add_destination

    service = active_service(api)
    add_destination(user=ops, team=teams["alpha"], name="chat", url="json://127.0.0.1:9/",
                    events=["run_succeeded"])  # fmt: skip
    listed = {a["name"]: a for a in service["actions"]}
    assert set(listed) == {"note", "reset", "repair", "wobble", "purge", "label"}
    assert listed["note"]["title"] == "Write a note"
    assert listed["note"]["inputs"]["required"] == ["text"]
    assert listed["reset"]["destructive"] is True
    assert listed["note"]["url"].endswith(f"/api/services/{service['id']}/actions/note/")

    answer = act(api, service["id"], "note", {"text": "ahoy", "times": 3})

    assert answer.status_code == 202, answer.json()
    queued = answer.json()
    assert queued["action"] == "note" and queued["parameters"] == {"text": "ahoy", "times": 3}
    assert queued["inputs"] == service["inputs"]
    run = wait_for_run(api, queued["id"])
    assert run["status"] == "succeeded", run
    # The action's inputs, the service's and `gangplank.action` all reached the playbook.
    assert note_file(service["id"]).read_text() == "ahoy x3 by note on hello"
    after = api.get(f"/api/services/{service['id']}/").json()
    assert after["status"] == "active" and after["failed_action"] is None
    assert after["outputs"] == {"echo": "hello", "note": "ahoy x3 by note on hello"}
    assert after["inputs"] == service["inputs"]
    # Defaults fill in; the run is listed and filtered by its action.
    defaulted = act(api, service["id"], "note", {"text": "once"}).json()
    assert defaulted["parameters"] == {"text": "once", "times": 1}
    wait_for_run(api, defaulted["id"])
    notes = api.get(f"/api/runs/?service={service['id']}&action=note").json()["results"]
    assert [r["id"] for r in notes] == [defaulted["id"], queued["id"]]
    trail = AuditEvent.objects.filter(action="run.queued.note").order_by("pk")
    assert [e.object_repr for e in trail][:1] == [f"Write a note of alpha/{service['name']}"]
    assert trail.first().changes == {"text": [None, "ahoy"], "times": [None, 3]}
    # Its notification names it by its title.
    told = Delivery.objects.filter(event="run_succeeded").order_by("pk").first()
    assert told.title == f"[Gangplank] Write a note of alpha/{service['name']} succeeded"


def test_it_refuses_unknown_actions_bad_inputs_and_a_second_run(worker, catalog, api):
    service = active_service(api)

    unknown = act(api, service["id"], "explode")
    assert unknown.status_code == 404
    assert "no action 'explode'" in unknown.json()["detail"]

    invalid = act(api, service["id"], "note", {"times": 9, "colour": "red"})
    assert invalid.status_code == 400
    errors = invalid.json()["inputs"]
    assert errors["text"] == ["This input is required."]
    assert errors["times"] == ["Must be at most 5."]
    assert errors["colour"] == ["Unknown input."]
    not_an_object = act(api, service["id"], "note", ["x"])
    assert not_an_object.status_code == 400 and "inputs" in not_an_object.json()

    # An action's inputs may depend on each other, checked as the template's are.
    custom = act(api, service["id"], "label", {"kind": "custom"})
    assert custom.status_code == 400 and custom.json()["inputs"] == {
        "text": ["This input is required."]
    }

    held = act(api, service["id"], "purge", {"depth": "deep"})  # waits for approval
    assert held.status_code == 202 and held.json()["status"] == "awaiting_approval"
    second = act(api, service["id"], "note", {"text": "x"})
    assert second.status_code == 409
    assert "already queued or running" in second.json()["detail"]
    assert api.get(f"/api/services/{service['id']}/").json()["actions"] == []
    assert Run.objects.filter(service_id=service["id"], action="note").count() == 0


def test_a_failed_action_leaves_the_service_active_unless_it_says_failed(
    worker, catalog, api, client, owner, settings
):
    service = active_service(api)
    client.force_login(owner)

    wobbled = wait_for_run(api, act(api, service["id"], "wobble", {"broken": True}).json()["id"])

    assert wobbled["status"] == "failed" and "wobble failed on purpose" in wobbled["error"]
    after = api.get(f"/api/services/{service['id']}/").json()
    assert after["status"] == "active" and after["failed_action"] is None
    assert after["last_run"]["id"] == wobbled["id"] and after["last_run"]["status"] == "failed"
    page = client.get(f"/services/{service['id']}/")
    assert b"the last action, Wobble, failed" in page.content
    run_page = client.get(f"/runs/{wobbled['id']}/").content.decode()
    assert "<h1" in run_page and "Wobble of ops-box" in run_page
    assert 'id="run-parameters"' in run_page and 'data-input="broken"' in run_page
    assert "Fail on purpose" in run_page  # the action's input, by its title

    repaired = wait_for_run(api, act(api, service["id"], "repair", {"broken": True}).json()["id"])

    assert repaired["status"] == "failed"
    failed = api.get(f"/api/services/{service['id']}/").json()
    assert failed["status"] == "failed" and failed["failed_action"] == "repair"
    # Only that action may run again (besides the built-ins' ways out).
    assert [a["name"] for a in failed["actions"]] == ["repair"]
    assert act(api, service["id"], "note", {"text": "x"}).status_code == 409
    assert b"failed during repair" in client.get(f"/services/{service['id']}/").content

    # A retry carries the action's inputs: it fails again, the service stays failed.
    again = api.post(f"/api/runs/{repaired['id']}/retry/").json()
    assert again["action"] == "repair" and again["parameters"] == {"broken": True}
    assert wait_for_run(api, again["id"])["status"] == "failed"
    assert api.get(f"/api/services/{service['id']}/").json()["status"] == "failed"

    fixed = wait_for_run(api, act(api, service["id"], "repair", {"broken": False}).json()["id"])

    assert fixed["status"] == "succeeded"
    healed = api.get(f"/api/services/{service['id']}/").json()
    assert healed["status"] == "active" and healed["failed_action"] is None
    assert healed["outputs"]["note"] == "repaired by repair"
    # Prometheus counts the runs by action, custom ones by their names.
    settings.GANGPLANK_METRICS_TOKEN = "actions-scrape"
    scraped = client.get("/metrics", HTTP_AUTHORIZATION="Bearer actions-scrape").content.decode()
    for action, status, count in (("wobble", "failed", 1), ("repair", "failed", 2),
                                  ("repair", "succeeded", 1)):  # fmt: skip
        line = f'gangplank_runs_total{{action="{action}",status="{status}",template="operable"}}'
        assert f"{line} {count}.0" in scraped, scraped


def test_an_actions_approval_holds_it_until_its_approvers_decide(worker, catalog, api, outsider):
    service = active_service(api)

    shallow = act(api, service["id"], "purge", {})
    assert shallow.json()["status"] == "queued"  # its `when` does not match
    wait_for_run(api, shallow.json()["id"])
    deep = act(api, service["id"], "purge", {"depth": "deep"}).json()

    assert deep["status"] == "awaiting_approval"
    approvers = api_client_for(outsider)  # of beta, the rule's approvers
    pending = approvers.get("/api/approvals/?status=pending").json()["results"]
    assert [(a["action"], a["run"]) for a in pending] == [("purge", deep["id"])]
    approved = approvers.post(f"/api/approvals/{pending[0]['id']}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.json()
    run = wait_for_run(api, deep["id"])
    assert run["status"] == "succeeded"
    assert not note_file(service["id"]).exists()


def test_only_callers_who_may_change_the_service_see_its_actions(
    worker, catalog, api, member, outsider, auditor, ops
):
    service = active_service(api)

    def listed(user):
        client = api_client_for(user)
        one = client.get(f"/api/services/{service['id']}/")
        if one.status_code == 404:
            return None
        many = client.get("/api/services/").json()["results"]
        assert [s["actions"] for s in many if s["id"] == service["id"]] == [one.json()["actions"]]
        return [a["name"] for a in one.json()["actions"]]

    declared = ["note", "reset", "repair", "wobble", "purge", "label"]  # in manifest order
    assert listed(member) == declared
    assert listed(ops) == declared
    assert listed(auditor) == []
    assert listed(outsider) is None
    assert act(api_client_for(auditor), service["id"], "note", {"text": "x"}).status_code == 403
    assert act(api_client_for(outsider), service["id"], "note", {"text": "x"}).status_code == 404


def test_a_deprovisioned_service_offers_no_actions(worker, catalog, api):
    service = active_service(api)
    gone = api.post(f"/api/services/{service['id']}/deprovision/", {}, format="json").json()
    wait_for_run(api, gone["id"])

    after = api.get(f"/api/services/{service['id']}/").json()

    assert after["status"] == "deprovisioned" and after["actions"] == []
    refused = act(api, service["id"], "note", {"text": "x"})
    assert refused.status_code == 409 and "cannot run Write a note" in refused.json()["detail"]


def test_an_action_can_be_canceled_before_it_starts(catalog, api, own_queue):
    """No worker on this test's queue: the run waits, and is canceled without running."""
    from provisioning.models import Service
    from provisioning.states import ServiceStatus

    created = request_via_api(api, "operable", "no-worker", {"message": "m"})
    Service.objects.filter(pk=created["id"]).update(status=ServiceStatus.ACTIVE)
    Run.objects.filter(pk=created["last_run"]["id"]).update(status="succeeded")
    queued = act(api, created["id"], "note", {"text": "x"}).json()
    assert queued["status"] == "queued"

    canceled = api.post(f"/api/runs/{queued['id']}/cancel/").json()

    assert canceled["status"] == "canceled"
    assert api.get(f"/api/services/{created['id']}/").json()["status"] == "active"


def test_an_upgrade_brings_the_new_versions_actions(worker, catalog, api):
    from catalog.models import Template, TemplateVersion

    service = active_service(api)
    current = catalog["operable"].current_version
    restart = {**current.manifest["actions"]["reset"], "title": "Restart"}
    actions = {**current.manifest["actions"], "restart": restart}
    newer = TemplateVersion.objects.create(
        template=current.template, version="2.0.0", digest="newer", files=current.files,
        manifest={**current.manifest, "version": "2.0.0", "actions": actions},
    )  # fmt: skip
    Template.objects.filter(pk=current.template_id).update(current_version=newer)

    assert act(api, service["id"], "restart").status_code == 404  # not its version's
    upgrade = api.post(f"/api/services/{service['id']}/upgrade/", {}, format="json").json()
    assert wait_for_run(api, upgrade["id"])["status"] == "succeeded"

    after = api.get(f"/api/services/{service['id']}/").json()
    assert after["template_version"] == "2.0.0"
    assert "restart" in [a["name"] for a in after["actions"]]
    restarted = wait_for_run(api, act(api, service["id"], "restart").json()["id"])
    assert restarted["status"] == "succeeded" and restarted["template_version"] == "2.0.0"


def input_tag(html: str, name: str) -> str:
    before, after = html.split(f'name="{name}"', 1)
    return before.rsplit("<input", 1)[1] + after.split(">", 1)[0]


def test_the_action_page_follows_its_inputs_without_running_anything(catalog, owner, client):
    from factories import make_service

    service = make_service(template=catalog["operable"], team=owner.teams.first(), name="box")
    client.force_login(owner)
    path = f"/services/{service.pk}/actions/label/"

    page = client.get(path).content.decode()
    refreshed = client.post(path, {"inputs-kind": "custom", "_refresh": "1"})

    assert "disabled" in input_tag(page, "inputs-text")  # hidden until the kind asks for it
    assert refreshed.status_code == 200
    html = refreshed.content.decode()
    assert "disabled" not in input_tag(html, "inputs-text")
    assert "required" in input_tag(html, "inputs-text")
    assert "invalid-feedback" not in html
    assert not Run.objects.filter(service=service, action="label").exists()
