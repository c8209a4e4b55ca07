"""Day 2 through the API with a real worker: update, preview, upgrade, deprovision, cancel,
retry, timeout, drift and the service's timeline."""

import json
import shutil
import time
from pathlib import Path

import pytest
import yaml

from conftest import TEST_CATALOG, request_via_api, wait_for, wait_for_run
from provisioning.models import Run, Service, ServiceEvent

pytestmark = pytest.mark.worker


def act(api, service_id, action, body=None, expect=202) -> dict:
    response = api.post(f"/api/services/{service_id}/{action}/", body or {}, format="json")
    assert response.status_code == expect, response.json()
    return response.json()


def provisioned(api, template, name, inputs) -> dict:
    created = request_via_api(api, template, name, inputs)
    run = wait_for_run(api, created["last_run"]["id"])
    assert run["status"] == "succeeded", run
    return api.get(f"/api/services/{created['id']}/").json()


def test_an_update_applies_new_inputs_refreshes_outputs_and_is_listed_first(worker, catalog, api):
    service = provisioned(api, "echo", "talker", {"message": "hello"})

    run = act(api, service["id"], "update", {"inputs": {"message": "goodbye"}})
    assert run["action"] == "update" and run["status"] == "queued"
    assert api.get(f"/api/services/{service['id']}/").json()["status"] == "updating"
    assert wait_for_run(api, run["id"])["status"] == "succeeded"

    after = api.get(f"/api/services/{service['id']}/").json()
    assert after["status"] == "active"
    assert after["inputs"] == {"message": "goodbye"} and after["outputs"] == {"echo": "goodbye"}
    moves = list(
        ServiceEvent.objects.filter(service_id=service["id"], kind="status").values_list(
            "from_status", "to_status"
        )
    )
    assert moves == [("provisioning", "active"), ("active", "updating"), ("updating", "active")]
    # Its runs, newest first.
    runs = api.get(f"/api/services/{service['id']}/runs/").json()["results"]
    assert [(r["action"], r["inputs"]["message"]) for r in runs] == [
        ("update", "goodbye"),
        ("provision", "hello"),
    ]


def test_a_failed_update_keeps_the_last_good_inputs_and_can_be_retried(worker, catalog, api):
    service = provisioned(api, "echo", "stubborn", {"message": "good"})

    run = act(api, service["id"], "update", {"inputs": {"message": "fail:please"}})
    failed = wait_for_run(api, run["id"])

    assert failed["status"] == "failed" and "Update failed on purpose" in failed["error"]
    after = api.get(f"/api/services/{service['id']}/").json()
    assert (after["status"], after["failed_action"]) == ("failed", "update")
    assert after["inputs"] == {"message": "good"} and after["outputs"] == {"echo": "good"}

    retry = api.post(f"/api/runs/{run['id']}/retry/")
    assert retry.status_code == 202
    assert retry.json()["retry_of"] == run["id"]
    assert retry.json()["inputs"] == {"message": "fail:please"}
    assert wait_for_run(api, retry.json()["id"])["status"] == "failed"

    fixed = act(api, service["id"], "update", {"inputs": {"message": "better"}})
    assert wait_for_run(api, fixed["id"])["status"] == "succeeded"
    after = api.get(f"/api/services/{service['id']}/").json()
    assert (after["status"], after["failed_action"], after["inputs"]) == (
        "active",
        None,
        {"message": "better"},
    )


def test_a_preview_shows_what_would_change_and_applies_nothing(worker, catalog, api):
    service = provisioned(api, "drifty", "previewed", {"content": "one"})
    path = Path(service["outputs"]["path"])

    run = act(api, service["id"], "preview", {"inputs": {"content": "two"}})
    assert run["action"] == "preview"
    assert api.get(f"/api/services/{service['id']}/").json()["status"] == "active"
    done = wait_for_run(api, run["id"])

    assert done["status"] == "succeeded"
    assert [change["task"] for change in done["changes"]] == ["Write the file"]
    diff = done["changes"][0]["diff"]
    assert "-plain: one" in diff and "+plain: two" in diff
    assert path.read_text() == "plain: one\n"
    after = api.get(f"/api/services/{service['id']}/").json()
    assert after["status"] == "active" and after["inputs"]["content"] == "one"


def test_a_read_only_input_cannot_change(worker, catalog, api):
    service = provisioned(api, "drifty", "fixed", {"content": "x", "label": "tag"})

    response = api.post(
        f"/api/services/{service['id']}/update/", {"inputs": {"label": "other"}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["inputs"]["label"] == ["Cannot be changed after provisioning."]
    assert Run.objects.filter(service_id=service["id"]).count() == 1


def test_drift_is_found_and_said(worker, catalog, api):
    from provisioning import housekeeping

    service = provisioned(api, "drifty", "drifter", {"content": "as requested"})
    Path(service["outputs"]["path"]).write_text("changed by hand\n")
    # Due: the template checks every hour and this service was last looked at long ago.
    Service.objects.filter(pk=service["id"]).update(updated_at="2000-01-01T00:00:00Z")

    assert housekeeping.schedule_drift_checks() == 1
    check = Run.objects.get(service_id=service["id"], action="drift_check")
    assert check.trigger == "schedule" and check.created_by is None
    wait_for_run(api, check.pk)

    after = api.get(f"/api/services/{service['id']}/").json()
    assert after["drifted"] is True and after["status"] == "active"
    assert after["drift"][0]["task"] == "Write the file"
    assert "+plain: as requested" in after["drift"][0]["diff"]
    assert housekeeping.schedule_drift_checks() == 0  # just checked

    repair = act(api, service["id"], "update", {"inputs": {}})
    wait_for_run(api, repair["id"])
    assert api.get(f"/api/services/{service['id']}/").json()["drifted"] is False


def test_deprovision_removes_it_and_frees_the_name(worker, catalog, api):
    service = provisioned(api, "drifty", "short-lived", {"content": "bye"})
    path = Path(service["outputs"]["path"])
    assert path.exists()

    run = act(api, service["id"], "deprovision", {"confirm": "short-lived"})
    assert wait_for_run(api, run["id"])["status"] == "succeeded"

    assert api.get(f"/api/services/{service['id']}/").json()["status"] == "deprovisioned"
    assert not path.exists()
    again = request_via_api(api, "drifty", "short-lived", {"content": "hello again"})
    assert again["id"] != service["id"]
    act(api, service["id"], "update", {"inputs": {}}, expect=409)


def test_a_failed_provision_is_retried_or_cleaned_up(worker, catalog, api, client, owner):
    created = request_via_api(api, "failing", "broken", {})
    first = wait_for_run(api, created["last_run"]["id"])
    assert first["status"] == "failed"
    assert api.get(f"/api/services/{created['id']}/").json()["failed_action"] == "provision"
    act(api, created["id"], "update", {"inputs": {}}, expect=409)

    retry = api.post(f"/api/runs/{first['id']}/retry/").json()
    assert retry["action"] == "provision" and retry["retry_of"] == first["id"]
    assert wait_for_run(api, retry["id"])["status"] == "failed"

    stale = api.post(f"/api/runs/{first['id']}/retry/")  # no longer the latest run
    assert stale.status_code == 409
    assert stale.json() == {
        "detail": f"Run {first['id']} is not the service's latest run; start a new action."
    }
    client.force_login(owner)
    page = client.post(f"/runs/{first['id']}/retry/", follow=True)
    assert page.redirect_chain == [(f"/runs/{first['id']}/", 302)]
    said = [str(message) for message in page.context["messages"]]
    assert said == [f"Run {first['id']} is not the service's latest run; start a new action."]
    runs = Run.objects.filter(service_id=created["id"])
    assert runs.count() == 2 and not runs.filter(status__in=["queued", "running"]).exists()
    assert Service.objects.get(pk=created["id"]).last_run_id == retry["id"]

    # The clean-up of a failed provision is a deprovision: its playbook succeeds (the
    # failing template's removes nothing), so the service is deprovisioned and its name free.
    cleanup = act(api, created["id"], "deprovision")
    assert cleanup["action"] == "deprovision"
    assert wait_for_run(api, cleanup["id"])["status"] == "succeeded"
    service = api.get(f"/api/services/{created['id']}/").json()
    assert (service["status"], service["failed_action"]) == ("deprovisioned", None)
    again = request_via_api(api, "failing", "broken", {})
    wait_for_run(api, again["last_run"]["id"])


def test_a_running_playbook_is_canceled(worker, catalog, api):
    created = request_via_api(api, "slow", "interrupted", {"steps": 20})
    run_id = created["last_run"]["id"]
    wait_for(lambda: api.get(f"/api/runs/{run_id}/").json()["status"] == "running",
             timeout=60, what="the run to start")  # fmt: skip
    started = time.monotonic()

    response = api.post(f"/api/runs/{run_id}/cancel/")
    assert response.status_code == 202
    run = wait_for_run(api, run_id, timeout=30)

    assert run["status"] == "canceled"
    assert time.monotonic() - started < 15  # stopped, not left to finish its 20 steps
    assert "canceled by owner" in run["error"]
    service = api.get(f"/api/services/{created['id']}/").json()
    assert (service["status"], service["failed_action"]) == ("failed", "provision")
    event = ServiceEvent.objects.filter(service_id=created["id"], to_status="failed").get()
    assert "may be partly changed" in event.message
    assert api.post(f"/api/runs/{run_id}/cancel/").status_code == 409


def test_a_run_past_its_templates_timeout_fails_as_timed_out(worker, catalog, api):
    created = request_via_api(api, "sleepy", "sleeper", {"seconds": 120})

    run = wait_for_run(api, created["last_run"]["id"], timeout=60)

    assert run["status"] == "failed"
    assert "timed out after 3 seconds" in run["error"]
    assert api.get(f"/api/services/{created['id']}/").json()["status"] == "failed"


def test_a_second_action_while_a_run_is_in_progress_is_a_409(worker, catalog, api):
    created = request_via_api(api, "slow", "busy", {"steps": 3})

    for action, body in [("update", {"inputs": {}}), ("deprovision", {})]:
        response = api.post(f"/api/services/{created['id']}/{action}/", body, format="json")
        assert response.status_code == 409, (action, response.json())
        assert "is provisioning" in response.json()["detail"]
    wait_for_run(api, created["last_run"]["id"])
    # A preview leaves the service active; the database still allows one run at a time.
    preview = act(api, created["id"], "preview", {"inputs": {"steps": 2}})
    response = api.post(f"/api/services/{created['id']}/update/", {"inputs": {}}, format="json")
    assert response.status_code == 409
    assert "already queued or running" in response.json()["detail"]
    wait_for_run(api, preview["id"])
    assert Run.objects.filter(service_id=created["id"]).count() == 2


def test_concurrent_actions_on_one_service_queue_one_run(worker, catalog, api, owner, member):
    """Threads racing on PostgreSQL: the partial unique index lets exactly one through."""
    from conftest import race
    from core.errors import Conflict
    from provisioning.services import preview_change, update_service

    service = Service.objects.get(pk=provisioned(api, "echo", "raced", {"message": "a"})["id"])

    def attempt(n):
        act_ = update_service if n % 3 else preview_change
        act_(user=owner if n % 2 else member, service=service, inputs={"message": f"m{n}"})
        return "queued"

    outcomes = race(attempt, range(6), expected=Conflict)

    assert outcomes.count("queued") == 1, outcomes
    assert all(isinstance(o, Conflict) for o in outcomes if o != "queued")
    in_progress = Run.objects.filter(service=service, status__in=["queued", "running"])
    assert in_progress.count() <= 1
    wait_for_run(api, Run.objects.filter(service=service).latest("created_at").pk)


def write_version(root: Path, version: str, inputs: dict, marker: str) -> None:
    folder = root / "evolving"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": "Evolving", "version": version, "category": "testing",
        "inputs": {"type": "object", **inputs}, "outputs": {"version": {"title": "Version"}},
        "playbooks": {"provision": "play.yml", "update": "play.yml", "deprovision": "play.yml"},
    }  # fmt: skip
    (folder / "template.yml").write_text(yaml.safe_dump(manifest))
    seen = "{{ {'a': a | default(None), 'b': b | default(None), 'c': c | default(None)} }}"
    stats = {"ansible.builtin.set_stats": {"data": {"version": marker, "inputs": seen}}}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [stats]}]
    (folder / "play.yml").write_text(yaml.safe_dump(play))


def test_an_upgrade_across_two_versions_carries_inputs_over(worker, catalog, api, tmp_path):
    from catalog.services import sync_catalog

    root = tmp_path / "catalog"
    shutil.copytree(TEST_CATALOG / "echo", root / "echo")
    a_and_b = {"a": {"type": "string"}, "b": {"type": "integer", "default": 1}}
    write_version(root, "1.0.0", {"required": ["a"], "properties": a_and_b}, "one")
    sync_catalog(directory=root)
    service = provisioned(api, "evolving", "grows", {"a": "kept", "b": 5})
    assert service["outputs"]["version"] == "one" and service["upgrade_available"] is None

    write_version(root, "1.1.0", {"properties": {**a_and_b, "c": {"type": "boolean"}}}, "one-one")
    sync_catalog(directory=root)
    # 2.0.0 drops b and requires a new input c, with no default: it must be asked for.
    a_and_c = {"a": {"type": "string"}, "c": {"type": "string", "enum": ["x", "y"]}}
    write_version(root, "2.0.0", {"required": ["a", "c"], "properties": a_and_c}, "two")
    sync_catalog(directory=root)
    assert api.get(f"/api/services/{service['id']}/").json()["upgrade_available"] == "2.0.0"

    refused = api.post(f"/api/services/{service['id']}/upgrade/", {}, format="json")
    assert refused.status_code == 400
    assert refused.json()["inputs"] == {"c": ["This input is required."]}

    run = act(api, service["id"], "upgrade", {"inputs": {"c": "y"}})
    assert run["template_version"] == "2.0.0"
    assert wait_for_run(api, run["id"])["status"] == "succeeded"

    after = api.get(f"/api/services/{service['id']}/").json()
    assert after["template_version"] == "2.0.0" and after["upgrade_available"] is None
    assert after["inputs"] == {"a": "kept", "c": "y"}
    assert after["outputs"]["version"] == "two"
    assert json.loads(json.dumps(after["outputs"]["inputs"])) == {"a": "kept", "b": None, "c": "y"}


@pytest.mark.django_db
def test_a_queued_run_is_canceled_at_once_and_the_service_goes_back(catalog, teams, owner):
    from factories import make_service
    from provisioning.services import cancel_run, update_service

    service = make_service(template=catalog["echo"], team=teams["alpha"], name="calm", user=owner)
    run = update_service(user=owner, service=service, inputs={"message": "new"})
    assert Service.objects.get(pk=service.pk).status == "updating"

    canceled = cancel_run(user=owner, run=run)

    assert canceled.status == "canceled" and canceled.canceled_by == owner
    service.refresh_from_db()
    assert service.status == "active" and service.inputs == {"message": "calm"}
    event = ServiceEvent.objects.filter(service=service).latest("created_at")
    assert (event.from_status, event.to_status, event.actor) == ("updating", "active", owner)


@pytest.mark.django_db
def test_a_provision_canceled_before_it_started_frees_the_name(catalog, teams, owner):
    from provisioning.services import cancel_run, request_service

    service = request_service(user=owner, template=catalog["echo"], team=teams["alpha"],
                              name="never", inputs={"message": "x"})  # fmt: skip
    cancel_run(user=owner, run=service.last_run)

    assert Service.objects.get(pk=service.pk).status == "deprovisioned"
    request_service(user=owner, template=catalog["echo"], team=teams["alpha"],
                    name="never", inputs={"message": "y"})  # fmt: skip


@pytest.mark.django_db
def test_outsiders_cannot_act_and_members_can(catalog, teams, owner, member, outsider):
    from conftest import api_client_for
    from factories import make_service

    service = make_service(template=catalog["echo"], team=teams["alpha"], name="ours", user=owner)
    stranger = api_client_for(outsider)
    for action in ("update", "preview", "upgrade", "deprovision", "extend"):
        assert stranger.post(f"/api/services/{service.pk}/{action}/", {}).status_code == 404
    for action in ("cancel", "retry"):
        assert stranger.post(f"/api/runs/{service.last_run_id}/{action}/").status_code == 404
    assert stranger.get(f"/api/services/{service.pk}/runs/").status_code == 404

    colleague = api_client_for(member)
    response = colleague.post(f"/api/services/{service.pk}/update/", {"inputs": {}}, format="json")
    assert response.status_code == 202 and response.json()["created_by"] == "member"


@pytest.mark.django_db
def test_extend_and_upgrade_say_why_they_cannot(catalog, teams, owner):
    from conftest import api_client_for
    from factories import make_service

    api = api_client_for(owner)
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="plain", user=owner)

    extend = api.post(f"/api/services/{service.pk}/extend/", {"expires_at": "2099-01-01T00:00Z"})
    assert extend.status_code == 400 and extend.json()["expires_at"] == [
        "This service does not expire."
    ]
    assert api.post(f"/api/services/{service.pk}/extend/", {}).status_code == 400
    upgrade = api.post(f"/api/services/{service.pk}/upgrade/", {}, format="json")
    assert upgrade.status_code == 409 and "newest version" in upgrade.json()["detail"]
    bad = api.post(f"/api/services/{service.pk}/update/", {"inputs": {"message": 3}}, format="json")
    assert bad.status_code == 400 and "message" in bad.json()["inputs"]
    assert Run.objects.filter(service=service).count() == 1


def test_a_run_executes_its_versions_stored_files_not_the_disk(worker, api, tmp_path):
    from catalog.services import sync_catalog

    root = tmp_path / "catalog"
    shutil.copytree(TEST_CATALOG / "echo", root / "echo")
    sync_catalog(directory=root)
    (root / "echo" / "provision.yml").write_text("this is not a playbook: [")

    service = provisioned(api, "echo", "stored", {"message": "from the database"})

    assert service["outputs"] == {"echo": "from the database"}
