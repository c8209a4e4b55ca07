"""The lists read their newest rows through an index, not a sort of the whole table (the
queries the API really sends, explained by PostgreSQL on tables of a few thousand rows), and
leave out what they never show of template versions: their files and most manifests."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import api_client_for
from factories import make_service
from provisioning.models import Run, Service

ROWS = 3000


@pytest.fixture
def many(catalog, teams, ops):
    """ROWS services of two teams, each with a run, their statistics up to date."""
    template = catalog["echo"]
    version = template.current_version
    services = Service.objects.bulk_create(
        Service(
            name=f"svc-{n}",
            team=teams["beta" if n % 10 else "alpha"],  # a tenth of them alpha's
            template=template,
            template_version=version,
            status="active",
            created_by=ops,
        )
        for n in range(ROWS)
    )
    Run.objects.bulk_create(
        Run(service=service, action="provision", status="succeeded", template_version=version)
        for service in services
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE provisioning_service, provisioning_run")
    return services


def page_query(*, client, url: str, table: str) -> str:
    """The query that reads the page's rows of `table` for `url`."""
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(url)
    assert answer.status_code == 200, answer.content
    ordered = f'ORDER BY "{table}"."created_at" DESC, "{table}"."id" DESC'
    (page,) = [q["sql"] for q in queries.captured_queries if ordered in q["sql"]]
    return page


def plan_of_page(*, user, url: str, table: str) -> str:
    """PostgreSQL's plan of the query that reads the page's rows of `table` for `url`."""
    page = page_query(client=api_client_for(user), url=url, table=table)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {page}")
        return "\n".join(line for (line,) in cursor.fetchall())


def test_it_reads_the_newest_services_through_their_ordering_index(many, ops):
    plan = plan_of_page(user=ops, url="/api/services/", table="provisioning_service")
    assert "Index Scan using service_newest_first" in plan, plan
    assert "Sort" not in plan.split("Index Scan using service_newest_first")[0], plan


def test_it_reads_the_newest_runs_through_their_ordering_index(many, ops):
    plan = plan_of_page(user=ops, url="/api/runs/", table="provisioning_run")
    assert "Index Scan using run_newest_first" in plan, plan
    assert "Sort" not in plan.split("Index Scan using run_newest_first")[0], plan


def test_it_reads_a_services_newest_runs_through_its_own_index(many, ops):
    service = many[0]
    version = service.template_version
    Run.objects.bulk_create(
        Run(service=service, action="update", status="succeeded", template_version=version)
        for _ in range(ROWS // 10)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE provisioning_run")
    url = f"/api/runs/?service={service.pk}"
    plan = plan_of_page(user=ops, url=url, table="provisioning_run")
    assert "run_service_newest_first" in plan, plan
    assert "Sort" not in plan.split("run_service_newest_first")[0], plan


SERVICES, RUNS = "provisioning_service", "provisioning_run"


@pytest.mark.parametrize(
    ("url", "table", "left_out"),
    [
        ("/api/services/", SERVICES, ['."files"']),
        ("/api/runs/", RUNS, ['."files"', '."manifest"']),
        ("/api/services/{pk}/runs/", RUNS, ['."files"', '."manifest"']),
        ("/services/", SERVICES, ['."files"', '."manifest"']),
    ],
)
def test_a_lists_page_loads_no_template_version_files_nor_manifests_it_does_not_read(
    catalog, teams, owner, client, url, table, left_out
):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="web", user=owner)
    client.force_login(owner)
    api = api_client_for(owner)
    page = page_query(client=client if url == "/services/" else api,
                      url=url.format(pk=service.pk), table=table)  # fmt: skip
    assert '"catalog_templateversion"' in page or '"template_version_id"' in page
    for column in left_out:
        assert column not in page, page


def test_it_reads_a_teams_newest_services_through_its_own_index(many, owner):
    plan = plan_of_page(user=owner, url="/api/services/?team=alpha", table="provisioning_service")
    assert "Index Scan using service_team_newest_first" in plan, plan
    assert "Sort" not in plan.split("service_team_newest_first")[0], plan
