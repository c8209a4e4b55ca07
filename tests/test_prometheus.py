"""GET /metrics after real runs by the real worker, read by prometheus-client's own parser,
served by several gunicorn processes; and its bearer token."""

import json
import re
import sys
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT, free_port, process_env, request_via_api, running, wait_for, wait_for_run
from factories import make_service
from provisioning.models import Run, Service

TOKEN = "scrape-me-0123456789"


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(family, name: str, **labels) -> float:
    matches = [s.value for s in family.samples if s.name == name and s.labels == labels]
    assert len(matches) == 1, (name, labels, family.samples)
    return matches[0]


def scrape(url: str, token: str = TOKEN) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        return response.read().decode()


@pytest.mark.worker
def test_it_exports_the_runs_the_worker_made_from_every_web_process(worker, catalog, api, tmp_path):
    echo = request_via_api(api, "echo", "scraped", {"message": "hi"})
    failing = request_via_api(api, "failing", "broken", {})
    ran = wait_for_run(api, echo["last_run"]["id"])
    assert ran["status"] == "succeeded"
    assert wait_for_run(api, failing["last_run"]["id"])["status"] == "failed"
    # A run queued two minutes ago that nothing sends (no beat here).
    broken = Service.objects.get(pk=failing["id"])
    queued = Run.objects.create(service=broken, action="deprovision", status="queued",
                                template_version=broken.template_version)  # fmt: skip
    Run.objects.filter(pk=queued.pk).update(created_at=timezone.now() - timedelta(minutes=2))

    port = free_port()
    web = [sys.executable, "-m", "gunicorn", "gangplank.wsgi", "--workers", "2",
           "--bind", f"127.0.0.1:{port}"]  # fmt: skip
    env = process_env(GANGPLANK_METRICS_TOKEN=TOKEN, GANGPLANK_HTTPS="false")
    with running(web, log=tmp_path / "web.log", env=env, ready=b"Booting worker"):
        url = f"http://127.0.0.1:{port}/metrics"
        texts = [wait_for(lambda: _try(url), timeout=30, what="gunicorn to answer")]
        texts += [scrape(url) for _ in range(8)]  # spread over gunicorn's processes

    parsed = [families(text) for text in texts]
    found = parsed[0]
    runs = found["gangplank_runs"]
    assert value(runs, "gangplank_runs_total", template="echo", action="provision",
                 status="succeeded") == 1  # fmt: skip
    assert value(runs, "gangplank_runs_total", template="failing", action="provision",
                 status="failed") == 1  # fmt: skip
    assert sum(s.value for s in runs.samples if s.name == "gangplank_runs_total") == 2

    duration = found["gangplank_run_duration_seconds"]
    labels = {"template": "echo", "action": "provision"}
    took = Run.objects.get(pk=ran["id"])
    took = (took.finished_at - took.started_at).total_seconds()
    assert value(duration, "gangplank_run_duration_seconds_count", **labels) == 1
    assert value(duration, "gangplank_run_duration_seconds_sum", **labels) == pytest.approx(took)
    buckets = [(float(s.labels["le"]), s.value) for s in duration.samples
               if s.name.endswith("_bucket") and s.labels["template"] == "echo"]  # fmt: skip
    assert buckets[-1] == (float("inf"), 1)
    assert all(count == (1 if le >= took else 0) for le, count in buckets)

    progress = found["gangplank_runs_in_progress"]
    assert value(progress, "gangplank_runs_in_progress", status="queued") == 1
    assert value(progress, "gangplank_runs_in_progress", status="running") == 0
    age = value(found["gangplank_oldest_queued_run_age_seconds"],
                "gangplank_oldest_queued_run_age_seconds")  # fmt: skip
    assert 120 <= age < 600

    services = found["gangplank_services"]
    assert value(services, "gangplank_services", status="active") == 1
    assert value(services, "gangplank_services", status="failed") == 1
    assert value(services, "gangplank_services", status="deprovisioned") == 0

    # Whichever process answered, the same counts (the age of the queued run aside).
    def counts(found):
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for name, family in found.items() if "age" not in name
                for s in family.samples}  # fmt: skip

    assert all(counts(other) == counts(found) for other in parsed[1:])


def _try(url: str) -> str | None:
    try:
        return scrape(url)
    except (urllib.error.URLError, ConnectionError):
        return None


@pytest.mark.django_db
def test_it_refuses_a_scrape_without_the_right_token(client, settings):
    settings.GANGPLANK_METRICS_TOKEN = TOKEN

    for header in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": TOKEN},
                   {"HTTP_AUTHORIZATION": f"Token {TOKEN}"}):  # fmt: skip
        response = client.get("/metrics", **header)
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"gangplank_" not in response.content

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert "gangplank_services" in families(response.content.decode())


@pytest.mark.django_db
def test_it_is_off_when_no_token_is_set(client, settings):
    settings.GANGPLANK_METRICS_TOKEN = ""

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_it_exports_the_queue_the_home_page_shows(client, settings, catalog, teams, ops):
    from provisioning.selectors import run_queue

    settings.GANGPLANK_METRICS_TOKEN = TOKEN
    made = {}
    waits = (("queued", 3), ("queued", 10), ("running", 1), ("awaiting_approval", 30))
    for n, (status, minutes) in enumerate(waits):  # one run in progress per service
        service = make_service(template=catalog["echo"], team=teams["alpha"], name=f"busy-{n}")
        run = Run.objects.create(service=service, action="update", status=status,
                                 template_version=service.template_version)  # fmt: skip
        Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
        made[status, minutes] = run

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    found = families(response.content.decode())
    counts = {s.labels["status"]: s.value for s in found["gangplank_runs_in_progress"].samples}
    assert counts == {"awaiting_approval": 1, "queued": 2, "running": 1}
    age = value(found["gangplank_oldest_queued_run_age_seconds"],
                "gangplank_oldest_queued_run_age_seconds")  # fmt: skip
    assert 600 <= age < 900
    queue = run_queue(runs=Run.objects.restrict(ops), with_oldest=True)
    assert (queue.queued, queue.running, queue.oldest_queued) == (2, 1, made["queued", 10])
    client.force_login(ops)
    home = client.get("/").content.decode()
    assert 'data-count="queued">2<' in home and 'data-count="running">1<' in home
    assert f"run #{made['queued', 10].pk}</a>" in home


@pytest.mark.django_db
def test_it_costs_the_same_queries_whatever_the_number_of_runs(
    client, settings, catalog, teams, django_assert_num_queries
):
    settings.GANGPLANK_METRICS_TOKEN = TOKEN

    def scrape_costs(queries: int):
        with django_assert_num_queries(queries):
            response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200

    make_service(template=catalog["echo"], team=teams["alpha"], name="first")
    scrape_costs(7)
    for n in range(20):
        template = catalog["echo" if n % 2 else "failing"]
        make_service(template=template, team=teams["beta"], name=f"s{n}", status="failed")
    scrape_costs(7)


@pytest.mark.django_db
def test_it_ships_a_grafana_dashboard_of_metrics_the_endpoint_exports(
    client, settings, catalog, teams
):
    settings.GANGPLANK_METRICS_TOKEN = TOKEN
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="timed")
    now = timezone.now()
    started = now - timedelta(seconds=3)
    Run.objects.filter(service=service).update(started_at=started, finished_at=now)
    _decided_approval_and_failed_delivery(service)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    exported = {s.name for f in families(response.content.decode()).values() for s in f.samples}
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "gangplank.json").read_text())

    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    named = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
        for target in panel["targets"]:
            metrics = set(re.findall(r"gangplank_[a-z_]+", target["expr"]))
            assert metrics and metrics <= exported, (panel["title"], metrics - exported)
            named |= metrics
    # Every family has a panel.
    assert {name.removesuffix("_bucket") for name in named} >= {
        "gangplank_runs_total", "gangplank_run_duration_seconds", "gangplank_runs_in_progress",
        "gangplank_oldest_queued_run_age_seconds", "gangplank_services",
        "gangplank_approvals_pending", "gangplank_approval_wait_seconds",
        "gangplank_notification_deliveries_failed_total",
    }  # fmt: skip


def _decided_approval_and_failed_delivery(service, *, waited=timedelta(hours=2)):
    from approvals.models import Approval
    from notifications.models import Delivery, Destination

    approval = Approval.objects.create(run=service.last_run, service=service, approvers="platform",
                                       status="approved", expires_at=timezone.now(),
                                       decided_at=timezone.now())  # fmt: skip
    Approval.objects.filter(pk=approval.pk).update(created_at=timezone.now() - waited)
    destination = Destination.objects.create(
        team=service.team, name="chat", secrets="-", url_redacted="json://h/", events=["run_failed"]
    )
    Delivery.objects.create(destination=destination, event="run_failed", title="t", body="b",
                            status="failed", attempts=5)  # fmt: skip


@pytest.mark.django_db
def test_it_exports_approvals_pending_their_wait_and_failed_deliveries(
    client, settings, catalog, teams, owner
):
    from provisioning.services import request_service

    settings.GANGPLANK_METRICS_TOKEN = TOKEN
    decided = make_service(template=catalog["echo"], team=teams["alpha"], name="decided")
    _decided_approval_and_failed_delivery(decided)
    request_service(user=owner, template=catalog["gated"], team=teams["alpha"], name="waits",
                    inputs={"message": "hi", "environment": "prod"})  # fmt: skip

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    found = families(response.content.decode())
    assert value(found["gangplank_approvals_pending"], "gangplank_approvals_pending") == 1
    wait = found["gangplank_approval_wait_seconds"]
    assert value(wait, "gangplank_approval_wait_seconds_count", status="approved") == 1
    assert value(wait, "gangplank_approval_wait_seconds_sum", status="approved") == pytest.approx(
        7200, abs=5
    )
    assert value(wait, "gangplank_approval_wait_seconds_bucket", status="approved",
                 le="3600.0") == 0  # fmt: skip
    assert value(wait, "gangplank_approval_wait_seconds_bucket", status="approved",
                 le="14400.0") == 1  # fmt: skip
    failed = found["gangplank_notification_deliveries_failed"]
    assert value(failed, "gangplank_notification_deliveries_failed_total", event="run_failed") == 1
