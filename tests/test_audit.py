"""The audit trail: every change recorded with who, from where and what changed;
append-only on PostgreSQL; read and exported by those allowed."""

import csv
import io
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction

from audit import services as audit
from audit.models import AuditEvent
from conftest import api_client_for, request_via_api, wait_for_run
from factories import make_service
from teams import permissions


def actions(events) -> list[str]:
    return [event["action"] for event in events]


@pytest.mark.worker
def test_a_full_cycle_is_on_the_trail_and_read_back_through_the_api(worker, catalog, api, ops):
    created = request_via_api(api, "echo", "audited", {"message": "one"})
    wait_for_run(api, created["last_run"]["id"])
    update = api.post(f"/api/services/{created['id']}/update/", {"inputs": {"message": "two"}},
                      format="json").json()  # fmt: skip
    wait_for_run(api, update["id"])
    gone = api.post(f"/api/services/{created['id']}/deprovision/", {}, format="json").json()
    wait_for_run(api, gone["id"])

    reader = api_client_for(ops)
    query = f"/api/audit/?object_type=provisioning.service&object_id={created['id']}"
    service_events = list(reversed(reader.get(query).json()["results"]))
    run_events = list(
        reversed(reader.get("/api/audit/?object_type=provisioning.run").json()["results"])
    )

    assert actions(service_events) == ["service.requested"] + ["service.status"] * 5
    assert [tuple(e["changes"]["status"]) for e in service_events[1:]] == [
        ("provisioning", "active"),
        ("active", "updating"),
        ("updating", "active"),
        ("active", "deprovisioning"),
        ("deprovisioning", "deprovisioned"),
    ]
    requested = service_events[0]
    assert requested["actor"] == "owner" and requested["team"] == "alpha"
    assert requested["token"] and requested["address"] == "127.0.0.1"
    queued = [e for e in run_events if e["action"].startswith("run.queued")]
    assert actions(queued) == [
        "run.queued.provision",
        "run.queued.update",
        "run.queued.deprovision",
    ]
    assert queued[1]["changes"] == {"message": ["one", "two"]}
    finished = [e for e in run_events if e["action"] == "run.finished"]
    assert len(finished) == 3 and {e["actor"] for e in finished} == {""}  # the system


@pytest.mark.django_db
def test_the_table_refuses_update_and_delete():
    event = audit.record(action="test.made", label="immutable")

    for statement in (
        "UPDATE core_auditevent SET action = 'forged'",
        "DELETE FROM core_auditevent",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    assert AuditEvent.objects.get(pk=event.pk).action == "test.made"


@pytest.mark.django_db
def test_the_table_has_its_append_only_trigger_once():
    (trigger,) = AuditEvent._meta.triggers
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [AuditEvent._meta.db_table],
        )
        names = [name for (name,) in cursor.fetchall()]
    assert names == [trigger.get_pgid(AuditEvent)]


@pytest.mark.django_db
def test_logins_tokens_roles_quotas_and_syncs_are_recorded(client, owner, ops, teams, catalog):
    from accounts.services import create_token, revoke_token
    from teams.services import grant_role, set_membership, set_quota

    client.post("/login/", {"username": "owner", "password": "wrong"})
    client.post("/login/", {"username": "owner", "password": "pw-owner"})
    token, _ = create_token(user=owner, name="ci")
    revoke_token(user=owner, token_key=token.token_key)
    grant_role(username="owner", role="auditor")
    set_membership(actor=ops, team=teams["beta"], username="owner", role="admin")
    set_quota(actor=ops, team=teams["alpha"], max_services=3)

    recorded = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    for action in ("catalog.synced", "auth.login_failed", "auth.login", "token.created",
                   "token.revoked", "role.granted", "membership.set", "quota.set"):  # fmt: skip
        assert action in recorded, action
    membership = AuditEvent.objects.get(action="membership.set")
    assert (membership.actor, membership.team, membership.changes) == (
        "ops",
        "beta",
        {"owner": [None, "admin"]},
    )
    assert AuditEvent.objects.get(action="quota.set").changes == {"all templates": [None, 3]}


@pytest.mark.django_db
def test_filters_exports_and_who_reads_what(
    client, catalog, teams, owner, ops, auditor, team_admin
):
    alpha = make_service(template=catalog["echo"], team=teams["alpha"], name="a", user=owner)
    beta = make_service(template=catalog["echo"], team=teams["beta"], name="b", user=owner)
    audit.record(action="test.alpha", actor=owner, obj=alpha)
    audit.record(action="test.beta", actor=owner, obj=beta)

    def listed(user, query=""):
        return actions(
            api_client_for(user).get(f"/api/audit/?action=test.{query}").json()["results"]
        )

    assert listed(ops) == ["test.beta", "test.alpha"] == listed(auditor)
    assert listed(team_admin) == ["test.alpha"]
    assert listed(ops, "&team=beta") == ["test.beta"]
    assert listed(ops, "&actor=owner&since=2000-01-01T00:00:00Z") == ["test.beta", "test.alpha"]
    assert listed(ops, "&until=2000-01-01T00:00:00Z") == []
    assert api_client_for(owner).get("/api/audit/").status_code == 403

    client.force_login(ops)
    rows = list(csv.DictReader(io.StringIO(b"".join(
        client.get("/audit/export/?as=csv&action=test.").streaming_content).decode())))  # fmt: skip
    assert [row["action"] for row in rows] == ["test.beta", "test.alpha"]
    api_lines = b"".join(api_client_for(auditor).get(
        "/api/audit/export/?as=jsonl&team=alpha&action=test.").streaming_content)  # fmt: skip
    assert [json.loads(line)["object_repr"] for line in api_lines.splitlines()] == ["alpha/a"]
    assert 'data-action="test.alpha"' in client.get("/audit/").content.decode()


@pytest.mark.django_db
def test_it_exports_user_typed_text_as_csv_no_spreadsheet_runs(client, ops):
    typed = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx=1", "\rx=1", "plain"]
    for username in typed:
        client.post("/login/", {"username": username, "password": "wrong"})

    reader = api_client_for(ops)
    content = b"".join(
        reader.get("/api/audit/export/?as=csv&action=auth.login_failed").streaming_content
    )
    rows = list(csv.DictReader(io.StringIO(content.decode(), newline="")))
    assert sorted(row["object_repr"] for row in rows) == sorted(
        [f"'{text}" for text in typed[:-1]] + ["plain"]
    )
    assert all(row["at"][0].isdigit() for row in rows)  # other cells untouched
    lines = b"".join(
        reader.get("/api/audit/export/?as=jsonl&action=auth.login_failed").streaming_content
    )
    assert sorted(json.loads(line)["object_repr"] for line in lines.splitlines()) == sorted(typed)


@pytest.mark.django_db
def test_it_filters_the_systems_events_on_the_api_and_the_page(client, owner, ops):
    audit.record(action="test.by_owner", actor=owner, label="theirs")
    audit.record(action="test.by_system", label="beat's")

    def listed(query):
        response = api_client_for(ops).get(f"/api/audit/?action=test.&{query}")
        return actions(response.json()["results"])

    assert listed("system=true") == ["test.by_system"]
    assert listed("system=false") == ["test.by_owner"]
    assert listed("system=") == listed("") == ["test.by_system", "test.by_owner"]
    client.force_login(ops)
    page = client.get("/audit/?action=test.&system=true").content.decode()
    assert 'data-action="test.by_system"' in page and "test.by_owner" not in page


@pytest.mark.django_db
def test_it_tells_who_may_read_the_trail_when_refusing(owner, team_admin):
    permissions.check_audit(team_admin)
    with pytest.raises(PermissionDenied, match="for platform engineers, auditors and team admins"):
        permissions.check_audit(owner)
