"""The OpenAPI schema tells the truth.

schemathesis reads the live /api/schema/ and throws generated requests at every operation,
as a platform engineer and as a team member: every answer must be documented (status code,
content type, body) and none may be a 5xx. And every query parameter the schema documents
actually filters.

The app is called in-process through its WSGI handler inside the test's transaction, so
nothing is committed and no task reaches a broker: requested runs simply stay queued."""

import copy
import json
import shutil
from datetime import datetime, timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from conftest import TEST_CATALOG, api_client_for
from factories import make_events, make_service

# Deterministic and bounded: the same requests on every run.
CONFIG = {
    "seed": 12,
    "phases": {
        "examples": {"enabled": True},
        # Boundary and invalid values of every parameter and body field (page=0, a missing
        # field, a string for an integer...). Other methods than the documented ones are
        # left out: DRF answers them 405 by itself.
        "coverage": {
            "enabled": True,
            "unexpected-methods": [],
            "generate-duplicate-query-parameters": False,
        },
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
    "generation": {"max-examples": 5, "deterministic": True, "database": "none"},
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
        "response_headers_conformance": {"enabled": True},
    },
}


@pytest.fixture
def contract_catalog(db, tmp_path):
    from catalog.models import Template
    from catalog.services import sync_catalog

    for name in ("echo", "gated", "failing"):
        shutil.copytree(TEST_CATALOG / name, tmp_path / name)
    sync_catalog(directory=tmp_path)
    Template.objects.filter(slug="gated").update(category="gates")
    Template.objects.filter(slug="failing").update(retired_at=timezone.now())
    return {t.slug: t for t in Template.objects.select_related("current_version")}


@pytest.fixture
def dataset(contract_catalog, teams, ops, member, outsider) -> dict:
    """A little of everything the API lists, made so that every filter keeps some rows and
    drops others. Returns what the filters are given."""
    from approvals import services as approvals
    from audit import services as audit
    from catalog.sources import create_source
    from credentials.services import create_credential
    from inventories.services import create_inventory
    from notes.services import add_note
    from notifications.services import add_destination
    from provisioning import services
    from provisioning.models import Run

    alpha, beta = teams["alpha"], teams["beta"]
    echo, gated = contract_catalog["echo"], contract_catalog["gated"]
    active = make_service(template=echo, team=alpha, name="active", user=member)
    make_events(active.last_run, 5)
    make_service(template=echo, team=alpha, name="broken", user=member, status="failed")
    make_service(template=echo, team=beta, name="theirs", user=outsider)
    make_service(template=echo, team=beta, name="gone", user=outsider, status="deprovisioned")
    queued = services.request_service(
        user=member, template=echo, team=alpha, name="queued", inputs={"message": "q"}
    )
    prod = {"message": "hello", "environment": "prod"}
    held = services.request_service(
        user=member, template=gated, team=alpha, name="held", inputs=prod
    )
    services.request_service(user=outsider, template=gated, team=beta, name="their-held",
                             inputs=prod)  # fmt: skip
    cut = timezone.now()
    decided = services.request_service(
        user=member, template=gated, team=alpha, name="decided", inputs=prod
    )
    approvals.approve(user=outsider, approval=decided.last_run.approval, comment="fine")
    Run.objects.create(service=active, action="update", status="succeeded", inputs={},
                       template_version=echo.current_version, created_by=member)  # fmt: skip
    add_note(user=member, service=active, body="Owned by **alpha**.")
    hook = {"name": "hook", "url": "json://127.0.0.1:9/x", "events": ["run_failed"]}
    destination = add_destination(user=ops, team=alpha, **hook)
    credential = create_credential(
        user=ops, name="api-token", type="token", fields={"token": "tok-123456"}
    )
    create_inventory(actor=ops, name="lab", description="Lab hosts.")
    event = audit.record(action="housekeeping.swept", label="by beat")  # by the system
    source, _ = create_source(user=ops, name="edge", url="https://git.example.com/e.git",
                              preview=True, teams=[beta])  # fmt: skip
    return {"active": active, "held": held, "queued": queued, "run": active.last_run, "cut": cut,
            "destination": destination, "credential": credential, "event": event,
            "source": source}  # fmt: skip


@pytest.fixture(params=["ops", "member"])
def role(request) -> str:
    return request.param


@pytest.fixture
def caller(request, role, dataset):
    from accounts.services import create_token

    _, key = create_token(user=request.getfixturevalue(role), name="contract")
    return {"Authorization": f"Token {key}"}


@pytest.fixture
def api_schema(role, caller):
    from gangplank.wsgi import application

    config = copy.deepcopy(CONFIG)
    if role != "ops":
        # A member's bad input takes the same paths as a platform engineer's, whose
        # boundary values are enough; the member's run is about what they may not see.
        config["phases"]["coverage"]["enabled"] = False

    # As Django's test client does: a request must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(
            "/api/schema/",
            application,
            config=schemathesis.config.SchemathesisConfig.from_dict(config),
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


def existing(data: dict) -> dict[str, dict[str, object]]:
    """Path values naming rows of the dataset, by the path's first segment."""
    active = data["active"]
    return {
        "approvals": {"id": data["held"].last_run.approval.pk},
        "audit": {"id": data["event"].pk},
        "catalog": {"id": data["source"].pk},
        "credentials": {"id": data["credential"].pk},
        "inventories": {"name": "lab"},
        "runs": {"id": data["queued"].last_run_id},
        "services": {"id": active.pk, "name": "restart"},  # echo has no custom actions
        "teams": {"slug": "alpha", "team_slug": "alpha", "id": data["destination"].pk},
        "templates": {"slug": "echo"},
    }


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_it_answers_every_operation_as_its_schema_says(case, caller, dataset):
    path = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    if path is not None and path.mode == GenerationMode.POSITIVE:
        # A valid id would be one that does not exist: name rows that do, so that what
        # an object answers is checked too. Invalid ones still probe the 404s.
        rows = existing(dataset)[case.operation.path.split("/")[2]]
        case.path_parameters = {name: rows[name] for name in case.path_parameters}
    # Each request on the same rows: what one changes is rolled back before the next.
    with transaction.atomic():
        try:
            case.call_and_validate(headers=caller)
        finally:
            transaction.set_rollback(True)


# --- every documented filter filters ----------------------------------------------------


def documented_query_parameters(api) -> set[tuple[str, str]]:
    paths = api.get("/api/schema/", {"format": "json"}).json()["paths"]
    return {
        (path, parameter["name"])
        for path, item in paths.items()
        for parameter in item.get("get", {}).get("parameters", [])
        if parameter["in"] == "query" and parameter["name"] != "page"
    }


def filter_values(data: dict, teams) -> dict[tuple[str, str], str]:
    """For each documented query parameter, a value that keeps some of the dataset's rows
    and drops others."""
    cut = data["cut"].isoformat()
    active, held = data["active"], data["held"]
    audit = {
        "action": "service.",
        "actor": "member",
        "object_type": "provisioning.service",
        "object_id": str(active.pk),
        "team": "beta",
        "system": "true",
        "since": cut,
        "until": cut,
    }
    return {
        ("/api/templates/", "category"): "gates",
        ("/api/templates/", "retired"): "false",
        ("/api/services/", "team"): "beta",
        ("/api/services/", "template"): "gated",
        ("/api/services/", "status"): "failed",
        ("/api/services/", "q"): "HELD",
        ("/api/services/", "run_status"): "awaiting_approval",
        ("/api/services/", "attention"): "true",
        ("/api/services/", "include_deprovisioned"): "true",
        ("/api/runs/", "service"): str(active.pk),
        ("/api/runs/", "status"): "awaiting_approval",
        ("/api/runs/", "action"): "update",
        ("/api/runs/{id}/events/", "after"): "2",
        ("/api/approvals/", "status"): "pending",
        ("/api/approvals/", "team"): "beta",
        ("/api/approvals/", "service"): str(held.pk),
        ("/api/metrics/dora/", "team"): "alpha",
        ("/api/metrics/dora/", "template"): "echo",
        ("/api/metrics/dora/", "days"): "7",
        ("/api/audit/export/", "as"): "jsonl",
        **{("/api/audit/", name): value for name, value in audit.items()},
        **{("/api/audit/export/", name): value for name, value in audit.items()},
    }


def rows(response) -> list[str]:
    """What an answer lists: a page's results, an export's lines, or a report as one row."""
    if response["Content-Type"] != "application/json":
        return b"".join(response.streaming_content).decode().splitlines()
    body = response.json()
    listed = body.get("results", [body])
    return [json.dumps(row, sort_keys=True) for row in listed]


# Filters that widen the list rather than narrow it.
WIDENING = {("/api/services/", "include_deprovisioned")}


def test_every_documented_query_parameter_filters(dataset, teams, ops):
    api = api_client_for(ops)
    documented = documented_query_parameters(api)
    # Every paged list takes page_size: a page of one row of all of them.
    values = filter_values(dataset, teams) | {
        (path, name): "1" for path, name in documented if name == "page_size"
    }
    assert documented == set(values), "a filter without a case here"

    for (path, name), value in sorted(values.items()):
        parent = dataset[
            "destination" if "destinations" in path else "active" if "services" in path else "run"
        ]
        url = path.replace("{id}", str(parent.pk)).replace("{team_slug}", "alpha")
        everything = api.get(url)
        filtered = api.get(url, {name: value})
        assert (everything.status_code, filtered.status_code) == (200, 200), (path, name)
        before, after = rows(everything), rows(filtered)
        if name == "page_size":
            assert everything.json()["count"] == filtered.json()["count"], path
            assert after == before[:1], f"{path}?page_size=1 is not the first row"
            continue
        assert after and after != before, f"{path}?{name}={value} changed nothing"
        if (path, name) in WIDENING:
            assert set(before) < set(after), f"{path}?{name}={value} added no rows"
        elif path not in ("/api/metrics/dora/", "/api/audit/export/"):
            assert set(after) < set(before), f"{path}?{name}={value} added rows"


def test_the_audit_trail_filters_by_action_prefix_and_before_a_moment(dataset, teams, ops):
    api = api_client_for(ops)
    cut = dataset["cut"]

    actions = {e["action"] for e in api.get("/api/audit/", {"action": "approval."}).json()[
        "results"]}  # fmt: skip
    until = api.get("/api/audit/", {"until": cut.isoformat()}).json()["results"]
    since = api.get("/api/audit/", {"since": cut.isoformat()}).json()["results"]

    assert actions == {"approval.requested", "approval.approved"}
    assert until and all(datetime.fromisoformat(e["at"]) < cut for e in until)
    assert since and not {e["id"] for e in since} & {e["id"] for e in until}


def test_a_date_time_with_an_offset_postgresql_refuses_is_read_in_utc(dataset, ops):
    api = api_client_for(ops)
    later = (dataset["cut"] + timedelta(hours=17, minutes=57)).replace(tzinfo=None)

    response = api.get("/api/audit/", {"until": later.isoformat() + "+17:57"})
    overflowing = api.get("/api/audit/", {"until": "0001-01-01T00:00:00+01:00"})

    assert response.status_code == 200 and response.json()["results"]
    assert overflowing.status_code == 400 and "until" in overflowing.json()


def test_it_refuses_a_number_where_the_schema_says_string(dataset, member):
    from notes.models import ServiceNote

    api = api_client_for(member)
    notes = f"/api/services/{dataset['active'].pk}/notes/"

    note = api.post(notes, {"body": 0}, format="json")
    request = api.post("/api/services/", {"template": "echo", "team": "alpha", "name": 7,
                                          "inputs": {"message": "m"}}, format="json")  # fmt: skip

    assert note.status_code == 400 and note.json() == {"body": ["Not a valid string."]}
    assert request.status_code == 400 and request.json() == {"name": ["Not a valid string."]}
    assert not ServiceNote.objects.filter(body="0").exists()
    assert api.post(notes, {"body": "0"}, format="json").status_code == 201


def test_a_path_no_route_matches_is_a_json_404_under_the_api_only(client, ops):
    api = api_client_for(ops)

    missing = api.get("/api/inventories/Not.A.Slug/")
    page = client.get("/no-such-page/")

    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
