"""Events retention: old finished runs keep their log as a gzip file, not their event rows."""

import gzip
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import race, request_via_api, wait_for_run
from factories import make_events, make_service
from provisioning import retention
from provisioning.models import Run, RunEvent


@pytest.fixture
def logs_dir(settings, tmp_path):
    settings.RUN_LOGS_DIR = tmp_path / "logs"
    settings.GANGPLANK_EVENTS_RETENTION_DAYS = 90
    return settings.RUN_LOGS_DIR


def finished_run(catalog, teams, name, *, days_ago: float, status="succeeded", events=3) -> Run:
    run = make_service(template=catalog["echo"], team=teams["alpha"], name=name).last_run
    Run.objects.filter(pk=run.pk).update(
        status=status, finished_at=timezone.now() - timedelta(days=days_ago)
    )
    make_events(run, events)
    run.refresh_from_db()
    return run


def test_it_archives_an_old_finished_run_to_a_gzip_file_and_removes_its_events(
    catalog, teams, logs_dir
):
    run = finished_run(catalog, teams, "old", days_ago=91, status="failed")

    assert retention.archive_run_logs() == 1

    path = logs_dir / f"{run.pk}.log.gz"
    assert gzip.decompress(path.read_bytes()).decode() == "line 1\nline 2\nline 3\n"
    assert not RunEvent.objects.filter(run=run).exists()
    run.refresh_from_db()
    assert run.log_archived_at is not None
    assert run.outputs == {} and run.status == "failed"  # the run itself is kept
    assert [p.name for p in logs_dir.iterdir()] == [path.name]  # no temp file left


def test_it_leaves_recent_runs_and_runs_in_progress_alone(catalog, teams, logs_dir):
    recent = finished_run(catalog, teams, "recent", days_ago=89)
    running = finished_run(catalog, teams, "running", days_ago=200, status="running")

    assert retention.archive_run_logs() == 0

    for run in (recent, running):
        assert RunEvent.objects.filter(run=run).count() == 3
        run.refresh_from_db()
        assert run.log_archived_at is None
    assert not logs_dir.exists()


def test_it_keeps_every_event_when_retention_is_zero(catalog, teams, logs_dir, settings):
    settings.GANGPLANK_EVENTS_RETENTION_DAYS = 0
    run = finished_run(catalog, teams, "kept", days_ago=3650)

    assert retention.archive_run_logs() == 0
    assert RunEvent.objects.filter(run=run).count() == 3


def test_it_does_nothing_on_a_second_pass_and_works_in_batches(catalog, teams, logs_dir):
    runs = [finished_run(catalog, teams, f"old-{n}", days_ago=100 + n) for n in range(5)]

    assert retention.archive_run_logs(batch=2) == 5
    first = {run.pk: Run.objects.get(pk=run.pk).log_archived_at for run in runs}

    assert retention.archive_run_logs(batch=2) == 0
    assert {run.pk: Run.objects.get(pk=run.pk).log_archived_at for run in runs} == first
    assert sorted(p.name for p in logs_dir.iterdir()) == sorted(f"{r.pk}.log.gz" for r in runs)


def test_it_archives_a_run_once_when_two_beats_race(catalog, teams, logs_dir, transactional_db):
    run = finished_run(catalog, teams, "raced", days_ago=120)
    cutoff = timezone.now() - timedelta(days=90)

    outcomes = race(lambda _: retention.archive_run_log(run_id=run.pk, cutoff=cutoff), range(2))

    assert sorted(outcomes) == [0, 1]
    assert gzip.decompress((logs_dir / f"{run.pk}.log.gz").read_bytes()).startswith(b"line 1\n")


def test_it_shows_the_archived_log_on_the_run_page_and_the_raw_log(
    catalog, teams, logs_dir, client, owner
):
    run = finished_run(catalog, teams, "shown", days_ago=91)
    retention.archive_run_logs()
    client.force_login(owner)

    page = client.get(reverse("provisioning:run", args=[run.pk])).content.decode()
    assert "Archived log" in page and "line 2" in page
    assert "No output" not in page

    raw = client.get(reverse("provisioning:run-log-text", args=[run.pk]))
    assert raw.content.decode() == "line 1\nline 2\nline 3\n"
    assert raw["X-Gangplank-Log-Archived"] == run_archived_at(run).isoformat()


def run_archived_at(run):
    return Run.objects.get(pk=run.pk).log_archived_at


def test_it_says_so_when_the_archived_file_is_missing(catalog, teams, logs_dir, client, owner):
    run = finished_run(catalog, teams, "lost", days_ago=91)
    retention.archive_run_logs()
    (logs_dir / f"{run.pk}.log.gz").unlink()
    client.force_login(owner)

    page = client.get(reverse("provisioning:run", args=[run.pk]))
    raw = client.get(reverse("provisioning:run-log-text", args=[run.pk]))

    assert page.status_code == 200 and raw.status_code == 200
    message = "its archive file is missing or unreadable: the log cannot be shown"
    assert message in page.content.decode() and message in raw.content.decode()


def test_it_archives_a_real_run_with_the_log_the_api_served(worker, catalog, api, logs_dir):
    service = request_via_api(api, "echo", "archived-echo", {"message": "hello retention"})
    run = wait_for_run(api, service["last_run"]["id"])
    before = api.get(f"/api/runs/{run['id']}/log/").content.decode()
    assert "hello retention" in before

    assert retention.archive_run_logs(now=timezone.now() + timedelta(days=91)) == 1

    after = api.get(f"/api/runs/{run['id']}/log/")
    assert after.content.decode() == before
    assert after["X-Gangplank-Log-Archived"]
    assert api.get(f"/api/runs/{run['id']}/").json()["log_archived_at"] is not None
    assert api.get(f"/api/runs/{run['id']}/").json()["outputs"] == run["outputs"]
    assert not RunEvent.objects.filter(run_id=run["id"]).exists()
