"""Nothing lost, nothing run twice: a broker outage, a SIGKILLed worker, expiry by beat."""

import contextlib
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from conftest import (
    celery_command,
    free_port,
    http_json,
    process_env,
    redis_command,
    request_via_api,
    running,
    use_queue,
    wait_for,
    wait_for_run,
    worker_command,
)
from provisioning.models import Run, RunEvent, Service

pytestmark = pytest.mark.worker


def test_a_request_made_while_the_broker_is_down_runs_once_it_is_back(
    worker, catalog, owner, tmp_path
):
    """Web, worker and beat on a Redis of the test's own, stopped during the request."""
    from accounts.services import create_token

    port, web_port = free_port(), free_port()
    queue = f"outage-{port}"
    env = process_env(
        CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0", GANGPLANK_QUEUE=queue,
        GANGPLANK_HOUSEKEEPING_SECONDS="1", GANGPLANK_HTTPS="false",
    )  # fmt: skip
    _, token = create_token(user=owner, name="outage")
    web = [sys.executable, "-m", "gunicorn", "gangplank.wsgi", "--bind", f"127.0.0.1:{web_port}"]
    beat = celery_command("beat", "--loglevel", "INFO", "-s", str(tmp_path / "beat-schedule"))
    log = lambda name: tmp_path / f"{name}.log"  # noqa: E731
    with contextlib.ExitStack() as stack:
        first_redis = stack.enter_context(
            running(redis_command(port), log=log("redis-1"), env=env, ready=b"Ready to accept")
        )
        stack.enter_context(running(web, log=log("web"), env=env, ready=b"Booting worker"))
        stack.enter_context(
            running(worker_command(queue), log=log("worker"), env=env, ready=b" ready.")
        )
        first_redis.terminate()  # the broker goes away
        first_redis.wait(timeout=30)

        status, created = http_json(
            "POST", f"http://127.0.0.1:{web_port}/api/services/", token,
            {"template": "echo", "team": "alpha", "name": "patient", "inputs": {"message": "hi"}},
        )  # fmt: skip
        assert status == 201 and created["status"] == "provisioning"
        run = Run.objects.get(pk=created["last_run"]["id"])
        assert run.status == "queued" and run.dispatched_at is None  # saved, not sent

        stack.enter_context(
            running(redis_command(port), log=log("redis-2"), env=env, ready=b"Ready to accept")
        )
        stack.enter_context(running(beat, log=log("beat"), env=env, ready=b"beat: Starting"))
        wait_for(
            lambda: Run.objects.get(pk=run.pk).status == "succeeded",
            timeout=90,
            what="the run to be dispatched and run once the broker is back",
        )
    assert Service.objects.get(pk=created["id"]).status == "active"
    assert RunEvent.objects.filter(run=run, event="playbook_on_start").count() == 1


def test_a_sigkilled_worker_leaves_no_run_stuck_and_nothing_restarts_it(
    worker, catalog, api, settings, tmp_path
):
    from provisioning import housekeeping
    from provisioning.tasks import execute_run

    queue = f"doomed-{os.getpid()}"
    default_queue = use_queue(queue)
    try:
        env = process_env(GANGPLANK_QUEUE=queue)
        with running(
            worker_command(queue), log=tmp_path / "w1.log", env=env, ready=b" ready."
        ) as w:
            created = request_via_api(api, "slow", "orphan", {"steps": 20})
            run_id = created["last_run"]["id"]
            wait_for(
                lambda: Run.objects.filter(pk=run_id, status="running").exists(),
                timeout=60,
                what="the run to start",
            )

            def data_dirs() -> list[Path]:
                return list(Path(settings.RUNS_DIR).glob(f"run-{run_id}-*"))

            wait_for(data_dirs, timeout=30, what="the run's private data dir")
            os.killpg(w.pid, signal.SIGKILL)
            w.wait()
        run = Run.objects.get(pk=run_id)
        assert run.status == "running"  # nobody is left to say otherwise

        settings.GANGPLANK_RUN_LOST_AFTER_SECONDS = 2
        wait_for(lambda: housekeeping.fail_lost_runs() == 1, timeout=30, what="the reaper")

        run.refresh_from_db()
        assert run.status == "failed" and "stopped responding" in run.error
        assert "was not restarted" in run.error
        service = Service.objects.get(pk=created["id"])
        assert (service.status, service.failed_action) == ("failed", "provision")
        assert data_dirs(), "the killed worker could not remove its data dir"
        assert housekeeping.remove_leftover_data_dirs() >= 1
        assert data_dirs() == []

        # A second delivery of its message (a redelivery after the worker's death) is refused.
        events = RunEvent.objects.filter(run=run).count()
        with running(worker_command(queue), log=tmp_path / "w2.log", env=env, ready=b" ready."):
            execute_run.delay(run_id)
            wait_for(
                lambda: b"is not queued any more" in (tmp_path / "w2.log").read_bytes(),
                timeout=30,
                what="the redelivered message to be refused",
            )
        assert RunEvent.objects.filter(run=run).count() == events
        assert Run.objects.get(pk=run_id).status == "failed"
    finally:
        use_queue(default_queue)


def test_beat_deprovisions_expired_services_and_marks_those_expiring(
    worker, catalog, api, tmp_path
):
    created = request_via_api(api, "drifty", "ephemeral", {"content": "soon gone"})
    service = Service.objects.get(pk=created["id"])
    lifetime = service.expires_at - service.created_at
    assert abs(lifetime - timedelta(days=7)) < timedelta(seconds=1)
    soon = request_via_api(api, "drifty", "expiring", {"content": "warn me"})
    for item in (created, soon):
        assert wait_for_run(api, item["last_run"]["id"])["status"] == "succeeded"

    too_late = service.created_at + timedelta(days=31)
    refused = api.post(f"/api/services/{service.pk}/extend/", {"expires_at": too_late.isoformat()})
    assert refused.status_code == 400 and "at most" in refused.json()["expires_at"][0]
    later = service.created_at + timedelta(days=20)
    extended = api.post(f"/api/services/{service.pk}/extend/", {"expires_at": later.isoformat()})
    assert extended.status_code == 200
    assert extended.json()["expires_at"].startswith(later.strftime("%Y-%m-%dT%H:%M"))

    now = timezone.now()
    Service.objects.filter(pk=service.pk).update(expires_at=now - timedelta(minutes=1))
    Service.objects.filter(pk=soon["id"]).update(expires_at=now + timedelta(hours=3))
    env = process_env(GANGPLANK_QUEUE=worker["queue"], GANGPLANK_HOUSEKEEPING_SECONDS="1")
    beat = celery_command("beat", "--loglevel", "INFO", "-s", str(tmp_path / "beat-schedule"))
    with running(beat, log=tmp_path / "beat.log", env=env, ready=b"beat: Starting"):
        wait_for(
            lambda: Service.objects.get(pk=service.pk).status == "deprovisioned",
            timeout=90,
            what="beat to deprovision the expired service",
        )
        wait_for(
            lambda: Service.objects.get(pk=soon["id"]).expiry_warned_at is not None,
            timeout=30,
            what="beat to mark the service expiring within a day",
        )
    expiry_run = Run.objects.get(service=service, action="deprovision")
    assert expiry_run.trigger == "expiry" and expiry_run.created_by is None
    assert expiry_run.status == "succeeded"
    assert Service.objects.get(pk=soon["id"]).status == "active"
    service.refresh_from_db()
    assert not Path(service.outputs["path"]).exists()
