"""The REST API's read side: templates, teams, services, runs and their events, the schema."""

import re

import pytest

from factories import make_events, make_service

pytestmark = pytest.mark.django_db


def test_it_lists_templates_with_their_schema(api, catalog):
    body = api.get("/api/templates/").json()

    slugs = [t["slug"] for t in body["results"]]
    assert {"postgres-database", "dev-workspace", "static-site"} <= set(slugs)
    detail = api.get("/api/templates/postgres-database/").json()
    assert detail["version"] == "1.3.1" and detail["category"] == "databases"
    assert detail["inputs"]["required"] == ["db_name"]
    assert detail["inputs"]["additionalProperties"] is False
    assert detail["outputs"]["dsn"] == {"title": "Connection string"}
    assert api.get("/api/templates/nope/").status_code == 404


def test_it_lists_only_the_callers_teams(api, teams):
    assert api.get("/api/teams/").json()["results"] == [{"slug": "alpha", "name": "Alpha"}]
    assert api.get("/api/teams/beta/").status_code == 404


def test_it_filters_services(api, catalog, teams, owner):
    make_service(template=catalog["echo"], team=teams["alpha"], name="one", user=owner)
    make_service(
        template=catalog["failing"], team=teams["alpha"], name="two", user=owner, status="failed"
    )

    def names(query=""):
        return sorted(s["name"] for s in api.get(f"/api/services/{query}").json()["results"])

    assert names() == ["one", "two"]
    assert names("?status=failed") == ["two"]
    assert names("?template=echo") == ["one"]
    assert names("?team=alpha&status=active") == ["one"]
    assert api.get("/api/services/?status=bogus").status_code == 400


def test_a_service_has_the_documented_fields(api, catalog, teams, owner):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="doc", user=owner)

    body = api.get(f"/api/services/{service.pk}/").json()

    assert body == {
        "id": service.pk,
        "name": "doc",
        "team": "alpha",
        "template": "echo",
        "template_version": "1.0.0",
        "status": "active",
        "inputs": {"message": "doc"},
        "outputs": {"echo": "doc"},
        "created_by": "owner",
        "created_at": body["created_at"],
        "last_run": {
            "id": service.last_run_id,
            "action": "provision",
            "status": "succeeded",
            "url": f"http://testserver/api/runs/{service.last_run_id}/",
        },
        "failed_action": None,
        "expires_at": None,
        "drifted": False,
        "drift": [],
        "drift_checked_at": None,
        "upgrade_available": None,
        "uses": [],
        "uses_others": 0,
        "used_by": [],
        "used_by_others": 0,
        "dependency_changed": False,
        "actions": [],  # echo has no custom actions
    }


def test_a_run_and_its_events_after_a_counter(api, catalog, teams, owner):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="ev", user=owner)
    make_events(service.last_run, 5)

    run = api.get(f"/api/runs/{service.last_run_id}/").json()
    assert {
        "id",
        "service",
        "action",
        "status",
        "created_at",
        "started_at",
        "finished_at",
        "rc",
        "outputs",
    } <= set(run)
    events = api.get(f"/api/runs/{service.last_run_id}/events/?after=2").json()
    assert [(e["counter"], e["stdout"]) for e in events["results"]] == [
        (3, "line 3"),
        (4, "line 4"),
        (5, "line 5"),
    ]
    assert events["next"] is None
    assert api.get(f"/api/runs/{service.last_run_id}/events/?after=x").status_code == 400


def test_an_event_carries_its_output_as_printed_and_as_plain_text(api, catalog, teams, owner):
    from django.utils import timezone

    from provisioning.models import RunEvent

    service = make_service(template=catalog["echo"], team=teams["alpha"], name="tint", user=owner)
    printed = "\x1b[0;32mok: [localhost]\x1b[0m\r\n\x1b[1;31mfatal\x1b[0m\r\n"
    RunEvent.objects.create(
        run=service.last_run, counter=1, event="runner_on_ok", stdout=printed,
        created_at=timezone.now(),
    )  # fmt: skip

    (event,) = api.get(f"/api/runs/{service.last_run_id}/events/").json()["results"]

    assert event["stdout"] == printed
    assert event["text"] == "ok: [localhost]\nfatal\n"


def test_a_long_log_is_paged_with_next(api, catalog, teams, owner):
    from provisioning.selectors import EVENTS_PAGE

    service = make_service(template=catalog["echo"], team=teams["alpha"], name="long", user=owner)
    make_events(service.last_run, EVENTS_PAGE + 3)

    first = api.get(f"/api/runs/{service.last_run_id}/events/").json()
    assert len(first["results"]) == EVENTS_PAGE
    assert first["next"].endswith(f"?after={EVENTS_PAGE}")
    rest = api.get(first["next"]).json()
    assert [e["counter"] for e in rest["results"]] == [EVENTS_PAGE + n for n in (1, 2, 3)]


def test_the_openapi_schema_and_docs_are_served_locally(api):
    schema = api.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/services/", "/api/runs/{id}/events/", "/api/templates/{slug}/"} <= set(paths)

    docs = api.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    # Nothing from another host (a bare "cdn" could turn up inside a random token).
    assert re.findall(r"""(?:src|href)=["'](?:https?:)?//""", docs) == []
