"""List pages and endpoints cost the same number of queries with 10 rows as with 50."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Template, TemplateVersion
from conftest import api_client_for
from factories import make_events, make_service

pytestmark = pytest.mark.django_db


def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code == 200
    return len(queries)


def add_services(catalog, teams, owner, count, start):
    for n in range(start, start + count):
        make_service(template=catalog["echo"], team=teams["alpha"], name=f"svc-{n}", user=owner)


def add_templates(count, start):
    for n in range(start, start + count):
        template = Template.objects.create(slug=f"t-{n}", name=f"T {n}", category=f"c{n % 3}")
        version = TemplateVersion.objects.create(
            template=template,
            version="1.0.0",
            digest="x",
            files={},
            manifest={
                "name": "T",
                "version": "1.0.0",
                "inputs": {"type": "object"},
                "playbooks": {},
                "outputs": {"o": {"title": "O"}},
            },
        )
        Template.objects.filter(pk=template.pk).update(
            current_version=version,
            errors=[{"file": "f", "field": "", "message": "m"}] if n % 2 else [],
        )


SERVICE_PATHS = [
    "/services/",
    "/services/?status=active&team=alpha",
    "/api/services/",
    "/api/services/?template=echo",
    "/api/runs/",
]
TEMPLATE_PATHS = ["/catalog/", "/catalog/-/status/", "/api/templates/"]


@pytest.mark.parametrize("path", SERVICE_PATHS)
def test_service_lists_cost_a_constant_number_of_queries(client, catalog, teams, owner, path):
    client.force_login(owner)
    fetch = api_client_for(owner).get if path.startswith("/api/") else client.get
    add_services(catalog, teams, owner, 10, 0)
    with_10 = count_queries(lambda: fetch(path))
    add_services(catalog, teams, owner, 40, 10)
    with_50 = count_queries(lambda: fetch(path))

    assert with_10 == with_50


@pytest.mark.parametrize("path", TEMPLATE_PATHS)
def test_template_lists_cost_a_constant_number_of_queries(client, ops, path):
    client.force_login(ops)
    fetch = api_client_for(ops).get if path.startswith("/api/") else client.get
    add_templates(10, 0)
    with_10 = count_queries(lambda: fetch(path))
    add_templates(40, 10)
    with_50 = count_queries(lambda: fetch(path))

    assert with_10 == with_50


def test_teams_and_events_cost_a_constant_number_of_queries(
    catalog, teams, owner, django_user_model
):
    from teams.models import Team

    api = api_client_for(owner)
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="ev", user=owner)
    events = f"/api/runs/{service.last_run_id}/events/"
    make_events(service.last_run, 10)
    for n in range(10):
        Team.objects.create(slug=f"team-{n}", name=f"Team {n}").members.add(owner)
    few = (count_queries(lambda: api.get("/api/teams/")), count_queries(lambda: api.get(events)))
    make_events(service.last_run, 40, start=11)
    for n in range(10, 50):
        Team.objects.create(slug=f"team-{n}", name=f"Team {n}").members.add(owner)
    many = (count_queries(lambda: api.get("/api/teams/")), count_queries(lambda: api.get(events)))

    assert few == many


def test_a_services_runs_cost_a_constant_number_of_queries(catalog, teams, owner):
    from provisioning.models import Run

    api = api_client_for(owner)
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="many", user=owner)

    def add_runs(count):
        Run.objects.bulk_create(
            Run(service=service, action="update", status="succeeded", created_by=owner,
                template_version=service.template_version, inputs={"message": str(n)})
            for n in range(count)
        )  # fmt: skip

    add_runs(9)
    few = count_queries(lambda: api.get(f"/api/services/{service.pk}/runs/"))
    add_runs(40)
    many = count_queries(lambda: api.get(f"/api/services/{service.pk}/runs/"))

    assert few == many
