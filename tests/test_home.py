"""The home page answers "what needs me now?": for a developer, their teams' failed, drifted
and expiring services, runs in progress and requests waiting for approval; for platform
engineers (and auditors, read-only), the queue, failure rates by template, pending approvals
and broken templates. Nothing runs: these tests make the rows themselves."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from querycounts import budget

from catalog.models import Template
from dashboard.selectors import FailureRate
from factories import make_service
from provisioning.models import Run, Service
from provisioning.services import request_service
from teams import permissions

pytestmark = pytest.mark.django_db

PROD = {"message": "hi", "environment": "prod"}


def section(html: str, name: str) -> str:
    """The HTML of the home page's section with id `name`."""
    start = html.index(f'id="{name}"')
    end = html.find("</section>", start)
    return html[start:end]


def listed(html: str, name: str, attribute: str = "data-service") -> list[str]:
    """The link texts of a section's items, in order."""
    item = rf'{attribute}="\d+"[^>]*>\s*<a class="fw-semibold" href="[^"]*">([^<]+)<'
    return re.findall(item, section(html, name))


def home(client, user) -> str:
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def service(catalog, teams, name, *, team="alpha", template="echo", status="active", **fields):
    made = make_service(template=catalog[template], team=teams[team], name=name, status=status)
    if fields:
        Service.objects.filter(pk=made.pk).update(**fields)
    return made


def queue_run(made: Service, *, status="queued", action="update", ago=timedelta(0)) -> Run:
    run = Run.objects.create(
        service=made, action=action, status=status, template_version=made.template_version
    )
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - ago)
    return run


@pytest.fixture
def troubled(catalog, teams):
    """Alpha's services in every state that does or does not need attention, and one of beta's."""
    now = timezone.now()
    return {
        "fine": service(catalog, teams, "fine"),
        "later": service(catalog, teams, "later", expires_at=now + timedelta(days=10)),
        "soon": service(catalog, teams, "soon", expires_at=now + timedelta(days=2)),
        "drifted": service(catalog, teams, "drifted", drifted=True),
        "failed": service(
            catalog, teams, "failed", template="failing", status="failed", failed_action="update"
        ),
        "sooner": service(catalog, teams, "sooner", expires_at=now + timedelta(hours=3)),
        "gone": service(
            catalog, teams, "gone", status="deprovisioned", drifted=True, expires_at=now
        ),
        "theirs": service(catalog, teams, "theirs", team="beta", status="failed"),
    }


# --- a developer ----------------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_log_in(client):
    response = client.get("/")

    assert response.status_code == 302 and response["Location"] == "/login/?next=/"


def test_it_lists_failed_then_drifted_then_expiring_services_soonest_first(client, owner, troubled):
    html = home(client, owner)

    assert listed(html, "attention") == ["failed", "drifted", "sooner", "soon"]
    attention = section(html, "attention")
    assert 'data-attention="failed"' in attention and "during update" in attention
    assert f'href="/services/{troubled["failed"].pk}/"' in attention
    assert f'href="/services/{troubled["drifted"].pk}/#drift"' in attention
    assert f'href="/services/{troubled["soon"].pk}/#extend"' in attention
    assert "expires in 2 days" in attention


def test_it_never_shows_another_teams_services_or_runs(client, outsider, troubled):
    queue_run(troubled["fine"])

    html = home(client, outsider)

    assert listed(html, "attention") == ["theirs"]
    assert "No runs queued or running." in section(html, "runs-in-progress")
    for name in ("failed", "drifted", "soon", "fine"):
        assert f'href="/services/{troubled[name].pk}/' not in html


def test_it_shows_the_teams_runs_in_progress_oldest_first(client, owner, troubled):
    older = queue_run(troubled["fine"], ago=timedelta(minutes=5))
    running = queue_run(troubled["later"], status="running", action="deprovision")
    queue_run(troubled["theirs"])  # beta's

    html = home(client, owner)

    runs = section(html, "runs-in-progress")
    assert re.findall(r'data-run="(\d+)"', runs) == [str(older.pk), str(running.pk)]
    assert f'href="/runs/{older.pk}/">Update of fine<' in runs
    assert 'data-status="running"' in runs


def test_it_shows_requests_waiting_for_approval_to_the_requesters_and_to_the_approvers(
    client, catalog, teams, owner, outsider
):
    gated = request_service(user=owner, template=catalog["gated"], team=teams["alpha"],
                            name="gated", inputs=PROD)  # fmt: skip
    approval = gated.last_run.approval

    mine = home(client, owner)
    theirs = home(client, outsider)

    waiting = section(mine, "awaiting-approval")
    assert f'href="/approvals/{approval.pk}/">Provision of gated<' in waiting
    assert "waits for Beta or platform engineers" in waiting and "lapses in 1" in waiting
    assert "No request waits for your decision." in section(mine, "to-decide")
    assert f'href="/approvals/{approval.pk}/">Provision of gated<' in section(theirs, "to-decide")
    assert "None of your teams" in section(theirs, "awaiting-approval")


def test_it_says_when_nothing_needs_you(client, catalog, teams, member):
    service(catalog, teams, "calm")

    html = home(client, member)

    assert "Nothing needs you now." in html
    assert "Nothing needs attention" in section(html, "attention")
    assert 'id="queue"' not in html  # the platform's sections are for ops and auditors


def test_it_caps_each_list_and_links_to_all_of_them(client, catalog, teams, owner):
    for n in range(12):
        service(catalog, teams, f"broken-{n}", status="failed")

    html = home(client, owner)

    assert len(listed(html, "attention")) == 10
    assert 'href="/services/?attention=true">See all 12<' in section(html, "attention")
    client.force_login(owner)
    every = client.get("/services/?attention=true").content.decode()
    assert len(re.findall(r'<tr data-service="\d+">', every)) == 12


# --- a platform engineer --------------------------------------------------------------------


def finished(made: Service, action: str, status: str, *, days_ago: float = 1) -> Run:
    run = Run.objects.create(service=made, action=action, status=status,
                             template_version=made.template_version)  # fmt: skip
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=days_ago))
    return run


@pytest.fixture
def history(catalog, teams):
    """Finished runs of the last 7 days (and some that do not count), by template.

    echo: the provisions of make_service (2 succeeded) plus an update failed and an upgrade
    succeeded: 1 failed of 4 = 25%. failing: 2 provisions failed: 100%. slow: a deprovision
    failed, a provision succeeded: 50%. Not counted: previews and drift checks, runs in
    progress or canceled, and a failure 8 days ago.
    """
    echo = [service(catalog, teams, f"echo-{n}") for n in range(2)]
    Run.objects.filter(service__in=echo).update(finished_at=timezone.now() - timedelta(hours=2))
    finished(echo[0], "update", "failed")
    finished(echo[1], "upgrade", "succeeded")
    finished(echo[0], "update", "failed", days_ago=8)
    finished(echo[0], "preview", "failed")
    finished(echo[1], "drift_check", "failed")
    finished(echo[1], "update", "canceled")
    failing = service(catalog, teams, "failing-1", template="failing", status="failed")
    Run.objects.filter(service=failing).update(finished_at=timezone.now())
    finished(failing, "provision", "failed", days_ago=6.9)
    slow = service(catalog, teams, "slow-1", template="slow", team="beta")
    Run.objects.filter(service=slow).update(finished_at=timezone.now() - timedelta(days=3))
    finished(slow, "deprovision", "failed")
    return {"echo": echo, "failing": failing, "slow": slow}


def test_it_computes_failure_rates_by_template_worst_first(client, ops, history):
    html = home(client, ops)

    rates = section(html, "failure-rates")
    rows = re.findall(
        r'<tr data-template="([\w-]+)">.*?data-failed>(\d+)<.*?data-succeeded>(\d+)<.*?'
        r"data-rate>(\d+)%<",
        rates,
        re.S,
    )
    assert rows == [
        ("failing", "2", "0", "100"),
        ("slow", "1", "1", "50"),
        ("echo", "1", "3", "25"),
    ]
    assert 'href="/services/?template=failing&amp;status=failed"' in rates
    assert "Provision, update, upgrade and deprovision runs" in rates  # not DORA's changes


def test_it_never_shows_one_failure_in_300_as_a_green_0_percent(client, ops, catalog, teams):
    made = service(catalog, teams, "busy")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Run.objects.bulk_create(
        Run(service=made, action="update", status="succeeded", finished_at=an_hour_ago,
            template_version=made.template_version)
        for _ in range(299)
    )  # fmt: skip
    finished(made, "update", "failed")

    rates = section(home(client, ops), "failure-rates")

    assert "data-failed>1<" in rates and "data-succeeded>299<" in rates
    assert '<span class="badge text-bg-warning" data-rate>0.3%</span>' in rates


@pytest.mark.parametrize(
    ("failed", "succeeded", "shown", "level"),
    [(0, 7, "0", "success"), (1, 2999, "0.1", "warning"), (1, 9, "10", "warning"),
     (1, 4, "20", "danger"), (1, 2, "33.3", "danger"), (2999, 1, "99.9", "danger"),
     (3, 0, "100", "danger")],
)  # fmt: skip
def test_it_rounds_a_failure_rate_without_hiding_a_failure_or_a_success(
    failed, succeeded, shown, level
):
    rate = FailureRate(slug="t", name="T", failed=failed, succeeded=succeeded,
                       rate=failed / (failed + succeeded))  # fmt: skip

    assert (rate.percent, rate.level) == (shown, level)


def test_it_shows_the_queue_with_the_oldest_waiting_run(client, ops, troubled):
    oldest = queue_run(troubled["theirs"], ago=timedelta(hours=3))
    queue_run(troubled["fine"], ago=timedelta(minutes=2))
    queue_run(troubled["later"], status="running")

    html = home(client, ops)

    queue = section(html, "queue")
    assert 'data-count="queued">2<' in queue and 'data-count="running">1<' in queue
    waiting = section(html, "queue")[section(html, "queue").index('id="oldest-queued"') :]
    assert f'href="/runs/{oldest.pk}/">run #{oldest.pk}</a> (beta/theirs)' in waiting
    assert "queued <time" in waiting and "3\xa0hours ago" in waiting


def test_it_counts_pending_approvals_and_lists_broken_templates(client, catalog, teams, owner, ops):
    request_service(user=owner, template=catalog["gated"], team=teams["alpha"], name="g1",
                    inputs=PROD)  # fmt: skip
    Template.objects.create(slug="cracked", name="Cracked", errors=[{"file": "cracked/x",
                            "field": "inputs", "message": "bad"}])  # fmt: skip

    html = home(client, ops)

    pending = section(html, "pending-approvals")
    assert 'data-count="pending">1<' in pending and 'href="/approvals/?status=pending"' in pending
    broken = section(html, "broken-templates")
    assert re.findall(r'data-template="([\w-]+)"', broken) == ["cracked"]
    assert 'href="/catalog/-/status/">Cracked</a>' in broken and "(1 problem)" in broken
    assert "g1" in section(html, "to-decide")  # platform engineers decide every request


@pytest.mark.parametrize(
    ("role", "sees"),
    [("ops", True), ("auditor", True), ("team_admin", False), ("member", False)],
)
def test_it_shows_the_platform_section_to_platform_engineers_and_auditors_only(
    client, request, role, sees
):
    user = request.getfixturevalue(role)

    assert permissions.can_see_operations(user) is sees
    assert ('id="queue"' in home(client, user)) is sees


def test_an_auditor_sees_the_platforms_figures_without_acting_links(client, auditor, troubled):
    Template.objects.create(slug="cracked", name="Cracked", errors=[{"message": "bad"}])

    html = home(client, auditor)

    assert 'data-count="queued">0<' in section(html, "queue")
    assert "/catalog/-/status/" not in html  # a page for platform engineers only
    assert "Cracked" in section(html, "broken-templates")
    assert 'id="attention"' not in html and 'id="no-teams"' not in html


# --- cost -----------------------------------------------------------------------------------


def grow(catalog, teams, owner, start: int, count: int) -> None:
    """`count` more services of each kind, with runs in progress, approvals, broken templates."""
    now = timezone.now()
    for n in range(start, start + count):
        for team in ("alpha", "beta"):
            made = service(catalog, teams, f"{team}-f-{n}", team=team, status="failed")
            service(catalog, teams, f"{team}-d-{n}", team=team, drifted=True)
            service(catalog, teams, f"{team}-e-{n}", team=team, expires_at=now + timedelta(days=1))
            queue_run(service(catalog, teams, f"{team}-q-{n}", team=team))
            finished(made, "update", "failed")
        Template.objects.create(slug=f"broken-{n}", name=f"B {n}", errors=[{"message": "x"}])
        request_service(user=owner, template=catalog["gated"], team=teams["alpha"],
                        name=f"gated-{n}", inputs=PROD)  # fmt: skip


@pytest.mark.parametrize("role", ["owner", "ops"])
def test_the_home_page_costs_the_same_queries_with_3_or_30_of_everything(
    client, catalog, teams, owner, ops, role, django_assert_max_num_queries
):
    user = {"owner": owner, "ops": ops}[role]
    client.force_login(user)
    grow(catalog, teams, owner, 0, 3)
    with django_assert_max_num_queries(budget("/")) as few:
        assert client.get("/").status_code == 200
    grow(catalog, teams, owner, 3, 27)
    with django_assert_max_num_queries(budget("/")) as many:
        html = client.get("/").content.decode()

    assert len(many) == len(few)
    if role == "owner":
        assert len(listed(html, "attention")) == 10
    else:
        assert len(listed(html, "to-decide", "data-approval")) == 10
