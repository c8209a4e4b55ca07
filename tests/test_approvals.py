"""Approvals: a template says which requests wait for whom; approvers decide in their inbox
or through the API; nobody decides their own request; undecided ones lapse.

The `gated` test template wants the beta team's approval for anything in prod. The owner
and the member are in alpha (the requesting team), the outsider in beta (the approvers)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from querycounts import budget

from approvals.models import Approval
from catalog import approval as rules
from catalog.loader import load_folder
from conftest import api_client_for, race, request_via_api, wait_for, wait_for_run
from provisioning.models import Run, Service

PROD = {"message": "hello", "environment": "prod"}


def _rule(**declared):
    return rules.parse(declared)


def test_it_asks_for_approval_of_every_change_when_the_rule_has_no_condition():
    rule = _rule()

    assert rule.approvers == "platform"
    assert rule.expires == timedelta(days=7)
    for action in ("provision", "update", "upgrade", "deprovision"):
        assert rule.applies(action=action, inputs=[{}])
    assert not rule.applies(action="preview", inputs=[{}])
    assert not rule.applies(action="drift_check", inputs=[{}])


def test_it_matches_the_condition_on_either_the_current_or_the_new_inputs():
    rule = _rule(when={"environment": ["prod", "staging"]}, actions=["update"])

    assert rule.applies(action="update", inputs=[{"environment": "staging"}])
    assert rule.applies(action="upgrade", inputs=[{"environment": "dev"}, {"environment": "prod"}])
    assert not rule.applies(action="update", inputs=[{"environment": "dev"}])
    assert not rule.applies(action="provision", inputs=[{"environment": "prod"}])


def _problems(tmp_path, catalog_dir, **replace) -> set[str]:
    folder = tmp_path / "gated"
    folder.mkdir(exist_ok=True)
    for source in (catalog_dir / "gated").iterdir():
        text = source.read_text()
        for old, new in replace.items():
            text = text.replace(old, new)
        (folder / source.name).write_text(text)
    return {f"{p.field}: {p.message}" for p in load_folder(folder).problems}


def test_it_refuses_a_rule_that_cannot_hold(tmp_path, catalog_dir):
    assert _problems(tmp_path, catalog_dir) == set()
    assert _problems(
        tmp_path, catalog_dir, **{"when: {environment: prod}": "when: {region: eu}",
                                  "expires: 2d": "expires: 100d"}
    ) == {
        "approval.when.region: is not an input of this template",
        "approval.expires: must be at most 90d",
    }  # fmt: skip
    (wrong,) = _problems(tmp_path, catalog_dir, **{"approvers: beta": "approvers: Beta!"})
    assert wrong.startswith("approval.approvers: 'Beta!' does not match")


@pytest.mark.django_db
def test_it_holds_a_matching_request_without_queueing_its_run(catalog, owner, api):
    created = request_via_api(api, "gated", "held", PROD)

    run = Run.objects.get(pk=created["last_run"]["id"])
    assert run.status == "awaiting_approval"
    assert run.dispatched_at is None
    approval = run.approval
    assert approval.status == "pending"
    assert approval.approver_team.slug == "beta"
    assert approval.requested_by == owner
    assert timedelta(days=2) - (approval.expires_at - timezone.now()) < timedelta(minutes=1)
    # A request that does not match the rule is queued at once.
    free = request_via_api(api, "gated", "free", {**PROD, "environment": "dev"})
    assert Run.objects.get(pk=free["last_run"]["id"]).status == "queued"
    assert not Approval.objects.filter(service_id=free["id"]).exists()


@pytest.mark.django_db
def test_it_shows_the_request_to_both_teams_but_only_approvers_decide(
    catalog, owner, member, outsider, ops, auditor, api, django_user_model
):
    created = request_via_api(api, "gated", "shown", PROD)
    approval_id = Run.objects.get(pk=created["last_run"]["id"]).approval.pk
    stranger = django_user_model.objects.create_user("stranger", password="pw")

    for user in (owner, member, outsider, ops, auditor):
        listed = api_client_for(user).get("/api/approvals/?status=pending").json()["results"]
        assert [a["id"] for a in listed] == [approval_id], user
    assert api_client_for(stranger).get("/api/approvals/").json()["results"] == []
    assert api_client_for(stranger).get(f"/api/approvals/{approval_id}/").status_code == 404

    own = api.post(f"/api/approvals/{approval_id}/approve/", {}, format="json")
    assert own.status_code == 403
    assert own.json()["detail"] == "Nobody approves their own request."
    teammate = api_client_for(member).post(f"/api/approvals/{approval_id}/approve/")
    assert teammate.status_code == 403
    assert teammate.json()["detail"] == "Only the request's approvers decide it."
    assert api_client_for(auditor).post(f"/api/approvals/{approval_id}/approve/").status_code == 403
    # The permission is answered before the input: no hint about what would be accepted.
    uncommented = api_client_for(member).post(f"/api/approvals/{approval_id}/reject/", {})
    assert uncommented.status_code == 403
    malformed = api_client_for(member).post(
        f"/api/approvals/{approval_id}/reject/", {"comment": None}, format="json"
    )
    assert malformed.status_code == 403
    assert malformed.json()["detail"] == "Only the request's approvers decide it."
    for decision in ("reject", "neither"):
        client = Client()
        client.force_login(member)
        page = client.post(f"/approvals/{approval_id}/", {"decision": decision, "comment": ""})
        assert page.status_code == 403, decision
    assert Approval.objects.get(pk=approval_id).status == "pending"


@pytest.mark.django_db
def test_it_needs_a_comment_to_reject(catalog, owner, outsider, api):
    created = request_via_api(api, "gated", "reasons", PROD)
    approval_id = Run.objects.get(pk=created["last_run"]["id"]).approval.pk

    response = api_client_for(outsider).post(
        f"/api/approvals/{approval_id}/reject/", {"comment": "  "}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"comment": ["Say why: a rejection needs a comment."]}
    assert Approval.objects.get(pk=approval_id).status == "pending"


@pytest.mark.worker
def test_it_runs_the_request_once_approved(worker, catalog, owner, outsider, ops, api):
    created = request_via_api(api, "gated", "approved", PROD)
    approval_id = Run.objects.get(pk=created["last_run"]["id"]).approval.pk

    response = api_client_for(outsider).post(
        f"/api/approvals/{approval_id}/approve/", {"comment": "ship it"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    assert response.json()["decided_by"] == "outsider"
    run = wait_for_run(api, created["last_run"]["id"])
    assert run["status"] == "succeeded"
    service = api.get(f"/api/services/{created['id']}/").json()
    assert (service["status"], service["outputs"]) == ("active", {"echo": "hello"})
    trail = api_client_for(outsider).get("/api/approvals/").json()["results"][0]
    assert trail["comment"] == "ship it"
    actions = [e["action"] for e in api_client_for(ops).get("/api/audit/").json()["results"]]
    assert {"approval.requested", "approval.approved"} <= set(actions)


@pytest.mark.worker
def test_it_runs_nothing_once_rejected(worker, catalog, owner, ops, api):
    from provisioning.execution import execute_run

    created = request_via_api(api, "gated", "rejected", PROD)
    run = Run.objects.get(pk=created["last_run"]["id"])

    response = api_client_for(ops).post(
        f"/api/approvals/{run.approval.pk}/reject/", {"comment": "not in prod"}, format="json"
    )

    assert response.status_code == 200
    run.refresh_from_db()
    assert run.status == "canceled"
    assert run.error == "Rejected by ops: not in prod"
    assert Service.objects.get(pk=created["id"]).status == "deprovisioned"
    # Even a stray message for it does nothing: a worker only claims queued runs.
    execute_run(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.started_at, run.events.count()) == ("canceled", None, 0)
    again = api_client_for(ops).post(f"/api/approvals/{run.approval.pk}/approve/")
    assert again.status_code == 409


@pytest.mark.worker
def test_it_holds_an_update_into_prod_while_the_service_stays_active(
    worker, catalog, owner, outsider, api
):
    created = request_via_api(api, "gated", "updated", {**PROD, "environment": "dev"})
    assert wait_for_run(api, created["last_run"]["id"])["status"] == "succeeded"

    held = api.post(
        f"/api/services/{created['id']}/update/", {"inputs": {"environment": "prod"}}, format="json"
    ).json()

    assert held["status"] == "awaiting_approval"
    approval = Approval.objects.get(run_id=held["id"])
    assert approval.changes == {"environment": ["dev", "prod"]}
    assert Service.objects.get(pk=created["id"]).status == "active"
    second = api.post(f"/api/services/{created['id']}/update/", {"inputs": {}}, format="json")
    assert second.status_code == 409  # one request at a time
    # The requester withdraws it by canceling the run: the service never moved.
    assert api.post(f"/api/runs/{held['id']}/cancel/").status_code == 202
    approval.refresh_from_db()
    assert approval.status == "withdrawn"
    service = Service.objects.get(pk=created["id"])
    assert (service.status, service.inputs["environment"]) == ("active", "dev")
    late = api_client_for(outsider).post(f"/api/approvals/{approval.pk}/approve/")
    assert late.status_code == 409


@pytest.mark.worker
def test_it_lapses_a_request_nobody_decided_in_time(worker, catalog, owner, ops, api):
    from approvals.tasks import lapse_overdue

    created = request_via_api(api, "gated", "forgotten", PROD)
    approval = Run.objects.get(pk=created["last_run"]["id"]).approval
    Approval.objects.filter(pk=approval.pk).update(expires_at=timezone.now())

    lapse_overdue.delay()  # what beat sends, run by the real worker

    wait_for(lambda: Approval.objects.get(pk=approval.pk).status == "lapsed", what="the lapse")
    run = Run.objects.get(pk=created["last_run"]["id"])
    assert run.status == "canceled"
    assert "it lapsed" in run.error
    assert Service.objects.get(pk=created["id"]).status == "deprovisioned"
    lapsed = api_client_for(ops).get("/api/audit/?action=approval.lapsed").json()["results"]
    assert [(e["action"], e["actor"]) for e in lapsed] == [("approval.lapsed", "")]


@pytest.mark.worker
def test_it_lets_exactly_one_of_two_racing_decisions_win(worker, catalog, owner, outsider, ops):
    from approvals import services
    from core.errors import Conflict

    api = api_client_for(owner)
    created = request_via_api(api, "gated", "raced", PROD)
    approval_id = Run.objects.get(pk=created["last_run"]["id"]).approval.pk

    def decide(decider):
        user, act = decider
        approval = Approval.objects.get(pk=approval_id)
        return act(user=user, approval=approval, comment="mine")

    outcomes = race(decide, [(outsider, services.approve), (ops, services.reject)] * 2,
                    expected=Conflict)  # fmt: skip

    winners = [o for o in outcomes if isinstance(o, Approval)]
    assert len(winners) == 1 and len(outcomes) == 4
    final = Approval.objects.get(pk=approval_id)
    assert final.status == winners[0].status
    run = wait_for_run(api, created["last_run"]["id"])
    assert run["status"] == ("succeeded" if final.status == "approved" else "canceled")
    decided = api_client_for(ops).get(
        f"/api/audit/?object_type=approvals.approval&object_id={approval_id}"
    )
    actions = sorted(e["action"] for e in decided.json()["results"])
    assert actions == sorted(["approval.requested", f"approval.{final.status}"])


@pytest.mark.django_db
def test_it_lists_the_inbox_with_a_constant_number_of_queries(
    catalog, owner, outsider, client, django_assert_max_num_queries
):
    from provisioning.services import request_service

    def request(name):
        request_service(user=owner, template=catalog["gated"], team=owner.memberships.get().team,
                        name=name, inputs=PROD)  # fmt: skip

    request("first")
    client.force_login(outsider)
    with django_assert_max_num_queries(budget("/approvals/")) as few:
        assert client.get("/approvals/").status_code == 200
    for n in range(5):
        request(f"more-{n}")
    with django_assert_max_num_queries(len(few)):
        page = client.get("/approvals/")
    assert page.content.count(b'data-action="decide"') == 6
    api = api_client_for(outsider)
    with django_assert_max_num_queries(budget("/api/approvals/")):
        pending = api.get("/api/approvals/?status=pending").json()["results"]
    # As in the inbox: the oldest deadline first.
    expiries = [a["expires_at"] for a in pending]
    assert len(pending) == 6 and expiries == sorted(expiries)


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction the activity view is a snapshot unless cleared.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_it_decides_in_the_portal_with_errors_on_the_form(
    catalog, owner, outsider, ops, client, api
):
    created = request_via_api(api, "gated", "portal", PROD)
    approval = Run.objects.get(pk=created["last_run"]["id"]).approval
    client.force_login(outsider)
    late_client = Client()
    late_client.force_login(ops)
    late = []

    def approve_late():
        try:
            late.append(late_client.post(f"/approvals/{approval.pk}/", {"decision": "approve"}))
        finally:
            connection.close()

    page = client.get(f"/approvals/{approval.pk}/")
    assert b'value="approve"' in page.content and b'data-input="message"' in page.content
    refused = client.post(f"/approvals/{approval.pk}/", {"decision": "reject", "comment": ""})
    assert refused.status_code == 400
    assert b"a rejection needs a comment" in refused.content
    # ops loads the request while it is pending, and approves once the rejection committed.
    racer = threading.Thread(target=approve_late)
    with transaction.atomic():
        done = client.post(
            f"/approvals/{approval.pk}/", {"decision": "reject", "comment": "wrong region"}
        )
        racer.start()
        wait_for(_someone_waits_for_a_lock, what="the late approval to wait for the rejection")
    racer.join(timeout=30)
    assert done.status_code == 302
    (conflict,) = late
    assert conflict.status_code == 409
    assert b"already rejected" in conflict.content
    assert b'id="decide"' not in conflict.content and b'value="approve"' not in conflict.content
    assert b'id="decision"' in conflict.content and b"wrong region" in conflict.content
    assert Approval.objects.get(pk=approval.pk).comment == "wrong region"
    client.force_login(owner)
    mine = client.get(f"/services/{created['id']}/")
    assert b"Rejected" in mine.content and b"wrong region" in mine.content


@pytest.mark.django_db
def test_it_sends_a_large_example_database_to_platform_engineers(catalog, owner, ops, api):
    large = request_via_api(api, "postgres-database", "big", {"db_name": "big_db", "size": "large"})
    small = request_via_api(api, "postgres-database", "tiny", {"db_name": "tiny_db"})

    approval = Run.objects.get(pk=large["last_run"]["id"]).approval
    assert (approval.approvers, approval.approver_team) == ("platform", None)
    assert Run.objects.get(pk=small["last_run"]["id"]).status == "queued"
    assert [a["id"] for a in api_client_for(ops).get("/api/approvals/").json()["results"]] == [
        approval.pk
    ]
