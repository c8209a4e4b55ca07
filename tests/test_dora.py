"""DORA figures against values computed by hand on a history with explicit timestamps: a
slow, approval-like wait, failures, a restore that failed twice before it came back."""

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.timezone import localtime
from querycounts import budget

from conftest import api_client_for
from factories import make_service
from metrics.charts import charts
from metrics.dora import dora, week_starts
from provisioning.models import Run, ServiceEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # a Wednesday; 30 days back is a Monday
MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def week(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def add_run(service, action, status, *, created, finished):
    run = Run.objects.create(
        service=service,
        action=action,
        status=status,
        template_version=service.template_version,
        inputs=service.inputs,
    )
    times = {"created_at": created, "started_at": created, "finished_at": finished}
    Run.objects.filter(pk=run.pk).update(**times)
    return run


def add_status(service, before, after, *, at):
    event = ServiceEvent.objects.create(
        service=service, kind="status", from_status=before, to_status=after
    )
    ServiceEvent.objects.filter(pk=event.pk).update(created_at=at)


@pytest.fixture
def history(catalog, teams, owner):
    """Alpha: a1 (echo) and a2 (static-site); beta: b1 (echo). Times are before NOW."""
    a1 = make_service(template=catalog["echo"], team=teams["alpha"], name="a1", user=owner)
    a2 = make_service(template=catalog["static-site"], team=teams["alpha"], name="a2")
    b1 = make_service(template=catalog["echo"], team=teams["beta"], name="b1")
    ago = NOW.__sub__

    # a1: provisioned long ago (only in 90 days), again in the window, then updates.
    add_run(a1, "provision", "succeeded", created=ago(40 * DAY), finished=ago(40 * DAY) + MIN)
    add_run(a1, "provision", "succeeded", created=ago(20 * DAY), finished=ago(20 * DAY) + 10 * MIN)
    add_status(a1, "provisioning", "active", at=ago(20 * DAY) + 10 * MIN)
    # Requested, then waited three days (an approval) before it ran and succeeded.
    add_run(a1, "update", "succeeded", created=ago(12 * DAY), finished=ago(9 * DAY))
    add_run(a1, "update", "failed", created=ago(8 * DAY), finished=ago(8 * DAY) + 5 * MIN)
    add_status(a1, "updating", "failed", at=ago(8 * DAY) + 5 * MIN)
    add_status(a1, "failed", "updating", at=ago(7 * DAY))
    add_run(a1, "update", "succeeded", created=ago(7 * DAY), finished=ago(7 * DAY) + 2 * HOUR)
    add_status(a1, "updating", "active", at=ago(7 * DAY) + 2 * HOUR)  # restored after 93,300 s
    # Not changes, or not ended: never counted.
    add_run(a1, "update", "canceled", created=ago(3 * DAY), finished=ago(3 * DAY))
    add_run(a1, "preview", "succeeded", created=ago(3 * DAY), finished=ago(3 * DAY) + MIN)
    add_run(a1, "drift_check", "failed", created=ago(3 * DAY), finished=ago(3 * DAY) + MIN)

    # a2: its provision failed, its retry failed too, the next one succeeded: one restore.
    add_run(a2, "provision", "failed", created=ago(5 * DAY), finished=ago(5 * DAY) + MIN)
    add_status(a2, "provisioning", "failed", at=ago(5 * DAY) + MIN)
    add_status(a2, "failed", "provisioning", at=ago(4 * DAY))
    add_run(a2, "provision", "failed", created=ago(4 * DAY), finished=ago(4 * DAY) + MIN)
    add_status(a2, "provisioning", "failed", at=ago(4 * DAY) + MIN)
    add_status(a2, "failed", "provisioning", at=ago(2 * DAY))
    add_run(a2, "provision", "succeeded", created=ago(2 * DAY), finished=ago(2 * DAY) + 30 * MIN)
    add_status(a2, "provisioning", "active", at=ago(2 * DAY) + 30 * MIN)  # after 257,340 s

    # b1: provisioned, then an update failed and was never restored.
    add_run(b1, "provision", "succeeded", created=ago(DAY), finished=ago(DAY) + MIN)
    add_status(b1, "provisioning", "active", at=ago(DAY) + MIN)
    add_run(b1, "update", "failed", created=ago(DAY) + HOUR, finished=ago(DAY) + HOUR + MIN)
    add_status(b1, "updating", "failed", at=ago(DAY) + HOUR + MIN)
    return {"a1": a1, "a2": a2, "b1": b1}


def seconds(span):
    return None if span is None else span.total_seconds()


def test_it_computes_the_overall_figures_of_the_window_by_hand(history, ops):
    report = dora(user=ops, days=30, now=NOW)
    total = report.total

    # Successful changes and their lead times: 1 min, 10 min, 30 min, 2 h, 3 days.
    assert total.deployments == 5
    assert total.deployment_frequency == pytest.approx(5 / 30)
    assert seconds(total.lead_time_median) == 30 * 60
    # The 90th percentile sits at 0.9 * 4 = 3.6: 2 h + 0.6 * (3 days - 2 h).
    assert seconds(total.lead_time_p90) == pytest.approx(7200 + 0.6 * (259200 - 7200))
    # a1's failed update, a2's two failed provisions, b1's failed update; the canceled one,
    # the preview and the drift check are not changes.
    assert (total.failed_changes, total.changes) == (4, 9)
    assert total.change_failure_rate == pytest.approx(4 / 9)
    # Restores: a1 after 1 d 1 h 55 min; a2 after 3 d 29 min (its second failure is the
    # same one); b1 is still failed.
    assert total.restores == 2
    assert seconds(total.time_to_restore_median) == pytest.approx((93300 + 260940) / 2)


def test_it_buckets_the_figures_by_week(history, ops):
    report = dora(user=ops, days=30, now=NOW)
    weeks = {w.start: w for w in report.weeks}

    assert [w.start for w in report.weeks] == [
        NOW - 30 * DAY, week(2, 23), week(3, 2), week(3, 9), week(3, 16)
    ]  # fmt: skip
    assert (weeks[week(2, 23)].deployments, seconds(weeks[week(2, 23)].lead_time_median)) == (
        1,
        600,
    )
    assert weeks[week(3, 2)].deployments == 0 and weeks[week(3, 2)].lead_time_median is None
    busy = weeks[week(3, 9)]
    assert (busy.deployments, busy.failed_changes) == (2, 3)
    assert seconds(busy.lead_time_median) == (7200 + 259200) / 2
    assert seconds(busy.lead_time_p90) == pytest.approx(7200 + 0.9 * (259200 - 7200))
    assert (busy.restores, seconds(busy.time_to_restore_median)) == (1, 93300)
    last = weeks[week(3, 16)]
    assert last.days == 2.5
    assert last.deployment_frequency == pytest.approx(2 / 2.5)
    assert (last.restores, seconds(last.time_to_restore_median)) == (1, 260940)


def test_it_never_rates_a_partial_week_over_less_than_a_day(catalog, teams, ops):
    """A 7-day window ending on a Sunday at 23:50 starts ten minutes before a Monday: one
    deployment in those ten minutes is one a day, not 144, and cannot dwarf the full week."""
    until = datetime(2026, 3, 22, 23, 50, tzinfo=UTC)
    since = until - 7 * DAY
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="busy")
    add_run(service, "update", "succeeded", created=since, finished=since + MIN)
    for n in range(7):  # one a day in the full week
        at = week(3, 16) + n * DAY
        add_run(service, "update", "succeeded", created=at, finished=at + HOUR)

    report = dora(user=ops, days=7, now=until)

    first, full = report.weeks
    assert (first.start, first.deployments) == (since, 1)
    assert first.days == pytest.approx(10 / (24 * 60))
    assert first.deployment_frequency == pytest.approx(1 / 1)  # count / one day at most
    assert full.deployment_frequency == pytest.approx(7 / full.days)
    assert report.total.deployment_frequency == pytest.approx(8 / 7)
    bars = charts(report=report)[0].svg
    values = [float(v) for v in re.findall(r'data-series="[^"]+" data-week="[^"]+" '
                                            r'data-value="([\d.]+)"', bars)]  # fmt: skip
    assert values == [1, pytest.approx(7 / full.days, rel=1e-5)]  # the full week's bar tops


def test_it_starts_every_week_at_local_midnight_across_a_clock_change():
    with timezone.override("Europe/Paris"):  # summer time from 29 March 2026
        starts = week_starts(since=week(3, 18), until=week(4, 14))

    assert [start.isoformat() for start in starts] == [
        "2026-03-16T00:00:00+01:00", "2026-03-23T00:00:00+01:00", "2026-03-30T00:00:00+02:00",
        "2026-04-06T00:00:00+02:00", "2026-04-13T00:00:00+02:00",
    ]  # fmt: skip


def test_it_computes_a_teams_figures(history, owner, teams):
    total = dora(user=owner, team=teams["alpha"], days=30, now=NOW).total

    # Lead times 10 min, 30 min, 2 h, 3 days.
    assert (total.deployments, total.failed_changes) == (4, 3)
    assert seconds(total.lead_time_median) == (1800 + 7200) / 2
    assert seconds(total.lead_time_p90) == pytest.approx(7200 + 0.7 * (259200 - 7200))
    assert seconds(total.time_to_restore_median) == pytest.approx((93300 + 260940) / 2)


def test_it_computes_a_templates_figures(history, ops, catalog):
    total = dora(user=ops, template=catalog["echo"], days=30, now=NOW).total

    # a1 and b1: lead times 1 min, 10 min, 2 h, 3 days.
    assert (total.deployments, total.failed_changes) == (4, 2)
    assert total.change_failure_rate == pytest.approx(1 / 3)
    assert seconds(total.lead_time_median) == (600 + 7200) / 2
    assert (total.restores, seconds(total.time_to_restore_median)) == (1, 93300)


def test_it_leaves_deprovisions_out_of_the_changes(history, ops):
    """Deployments are provisions, updates and upgrades: a deprovision deploys nothing,
    whether it fails or not (the home page's failure rate by template counts it)."""
    add_run(history["b1"], "deprovision", "failed", created=NOW - HOUR, finished=NOW - MIN)
    add_run(history["a2"], "deprovision", "succeeded", created=NOW - HOUR, finished=NOW - MIN)

    total = dora(user=ops, days=30, now=NOW).total

    assert (total.deployments, total.failed_changes) == (5, 4)


def test_it_takes_in_the_chosen_window_only(history, ops):
    assert dora(user=ops, days=90, now=NOW).total.deployments == 6
    week_only = dora(user=ops, days=7, now=NOW).total
    assert (week_only.deployments, week_only.failed_changes) == (3, 3)


def test_it_shows_an_outsider_only_their_teams_runs(history, outsider, auditor):
    total = dora(user=outsider, days=30, now=NOW).total

    assert (total.deployments, total.failed_changes) == (1, 1)
    assert seconds(total.lead_time_median) == seconds(total.lead_time_p90) == 60
    assert (total.restores, total.time_to_restore_median) == (0, None)
    assert dora(user=auditor, days=30, now=NOW).total.deployments == 5


@pytest.fixture
def frozen(monkeypatch):
    """The DORA selector's clock (only its) stopped at NOW."""
    clock = SimpleNamespace(now=lambda: NOW, localtime=localtime)
    monkeypatch.setattr("metrics.dora.timezone", clock)


def test_it_answers_the_same_figures_at_the_api(history, ops, frozen):
    response = api_client_for(ops).get("/api/metrics/dora/?team=alpha&days=30")

    assert response.status_code == 200
    body = response.json()
    assert (body["team"], body["template"], body["days"]) == ("alpha", None, 30)
    assert body["total"]["deployments"] == 4
    assert body["total"]["lead_time_median"] == 4500
    assert body["total"]["change_failure_rate"] == pytest.approx(3 / 7)
    assert body["total"]["time_to_restore_median"] == pytest.approx(177120)
    assert [w["start"][:10] for w in body["weeks"]] == [
        "2026-02-16", "2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16"
    ]  # fmt: skip
    assert "approval wait is included" in body["definitions"]["lead_time"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("days=5", "days"), ("team=nope", "team"), ("template=nope", "template")],
)
def test_it_refuses_a_bad_filter_with_field_errors(ops, teams, query, field):
    response = api_client_for(ops).get(f"/api/metrics/dora/?{query}")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_it_does_not_let_an_outsider_name_another_team(history, outsider, client):
    assert api_client_for(outsider).get("/api/metrics/dora/?team=alpha").status_code == 400
    client.force_login(outsider)
    page = client.get("/dora/?team=alpha")
    assert page.status_code == 400
    assert "Select a valid choice" in page.content.decode()
    assert client.get("/dora/?days=5").status_code == 400


def test_it_writes_each_definition_beside_its_figure(history, owner, client, frozen):
    client.force_login(owner)
    html = client.get("/dora/?days=90").content.decode()

    for key in ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"):
        assert f'id="{key}"' in html and f'id="chart-{key}"' in html
    assert "approval wait is included" in html
    assert html.count('class="bar"') == 14 * 5  # 14 weeks; five series among four charts
    assert "<title>deployments per day, week of Mar 9: " in html  # on every platform's C library


def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        result = call()
    assert getattr(result, "status_code", 200) == 200
    return len(queries)


def test_it_costs_the_same_queries_whatever_the_number_of_runs(
    history, ops, catalog, teams, client, frozen
):
    compute = lambda: dora(user=ops, team=teams["alpha"], days=90, now=NOW)  # noqa: E731
    compute()  # the user's role is read once, then kept on the user
    before = count_queries(compute)
    client.force_login(ops)
    api = api_client_for(ops)
    page = lambda: client.get("/dora/?days=90&team=alpha")  # noqa: E731
    endpoint = lambda: api.get("/api/metrics/dora/?days=90")  # noqa: E731
    page_before, endpoint_before = count_queries(page), count_queries(endpoint)
    for n in range(30):
        service = make_service(template=catalog["echo"], team=teams["alpha"], name=f"more-{n}")
        at = NOW - n * HOUR - MIN
        add_run(service, "update", "failed", created=at - MIN, finished=at - MIN)
        add_status(service, "updating", "failed", at=at - MIN)
        add_status(service, "failed", "updating", at=at - MIN / 2)
        add_status(service, "updating", "active", at=at)

    assert count_queries(compute) == before <= 6
    assert (count_queries(page), count_queries(endpoint)) == (page_before, endpoint_before)
    assert page_before <= budget("/dora/") and endpoint_before <= budget("/api/metrics/dora/")
    assert dora(user=ops, team=teams["alpha"], days=90, now=NOW).total.restores == 32
