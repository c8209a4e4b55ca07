"""What beat does on its own: re-send runs left queued, fail runs whose worker is gone and
remove what it left on disk, expire services, schedule drift checks. Each step is safe to run
twice or concurrently."""

import contextlib
import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from notifications import events as notify
from provisioning import runner, sandbox
from provisioning.execution import finish_run
from provisioning.models import Run, Service, ServiceDependency
from provisioning.queueing import dispatch_run, queue_run
from provisioning.states import RUN_IN_PROGRESS, RunAction, RunStatus, RunTrigger, ServiceStatus

log = logging.getLogger(__name__)


def dispatch_queued_runs() -> int:
    """Send again the runs still queued: never sent (broker down) or sent long ago."""
    now = timezone.now()
    stale = Run.objects.filter(status=RunStatus.QUEUED).filter(
        Q(dispatched_at__isnull=True, created_at__lt=now - timedelta(seconds=5))
        | Q(dispatched_at__lt=now - timedelta(seconds=settings.GANGPLANK_REDISPATCH_SECONDS))
    )
    sent = 0
    for run_id in stale.values_list("pk", flat=True):
        try:
            dispatch_run(run_id)
            sent += 1
        except Exception:  # the broker is still away; the next round tries again
            log.warning("could not dispatch run %s; will retry", run_id, exc_info=True)
            break
    return sent


def fail_lost_runs() -> int:
    """Fail running runs whose worker stopped beating: they are never restarted."""
    limit = timezone.now() - timedelta(seconds=settings.GANGPLANK_RUN_LOST_AFTER_SECONDS)
    lost = Run.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=limit).select_related(
        "service"
    )
    failed = 0
    for run in lost:
        error = (
            f"The worker running it ({run.worker or 'unknown'}) stopped responding; last heartbeat "
            f"at {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC. It was not restarted: check the "
            "service, then retry or clean up."
        )
        failed += finish_run(
            run=run, result=runner.PlaybookResult(runner.FAILED, None, error=error)
        )
    return failed


def remove_leftover_data_dirs() -> int:
    """Remove the private data dirs that a killed worker could not remove itself.

    A dir is kept while its run is running, and while it is younger than the lost-run limit,
    so that a dir being written by a worker right now is never touched.
    """
    root = Path(settings.RUNS_DIR)
    if not root.is_dir():
        return 0
    limit = time.time() - settings.GANGPLANK_RUN_LOST_AFTER_SECONDS
    found: dict[Path, int] = {}
    for path in root.iterdir():
        run_id = runner.run_of_data_dir(path.name)
        with contextlib.suppress(FileNotFoundError):  # its worker may be removing it now
            if run_id is not None and path.is_dir() and path.stat().st_mtime < limit:
                found[path] = run_id
    running = set(
        Run.objects.filter(pk__in=found.values(), status=RunStatus.RUNNING).values_list(
            "pk", flat=True
        )
    )
    leftover = [path for path, run_id in found.items() if run_id not in running]
    for path in leftover:
        shutil.rmtree(path, ignore_errors=True)
        log.info("removed %s, left behind by a lost worker", path)
    return len(leftover)


def prepare_host() -> int:
    """What a worker does as it starts: refuse to run playbooks unsandboxed unless told to
    (ImproperlyConfigured says why), then end the sandboxes and remove the data dirs that an
    earlier worker on this host left behind; returns how many."""
    if settings.GANGPLANK_SANDBOX and (problem := sandbox.problem()):
        raise ImproperlyConfigured(problem)
    if not settings.GANGPLANK_SANDBOX:
        log.warning("GANGPLANK_SANDBOX=off: playbooks run unsandboxed, as the worker itself")
    root = Path(settings.RUNS_DIR)
    root.mkdir(parents=True, exist_ok=True)
    found = [p for p in root.iterdir() if runner.run_of_data_dir(p.name) is not None]
    removed = sandbox.clean_up(found, min_age=settings.GANGPLANK_RUN_LOST_AFTER_SECONDS)
    for path in removed:
        log.info("removed %s and its sandbox, left behind by an earlier worker", path)
    return len(removed)


def expire_services() -> dict[str, int]:
    """Deprovision expired services; mark those expiring within a day."""
    now = timezone.now()
    expiring = Service.objects.filter(
        expires_at__lte=now + timedelta(days=1), expires_at__gt=now, expiry_warned_at__isnull=True
    ).select_related("team")
    warned = 0
    for service in expiring:
        with transaction.atomic():
            # Conditional: of two beats racing, one warns.
            if Service.objects.filter(pk=service.pk, expiry_warned_at__isnull=True).update(
                expiry_warned_at=now
            ):
                notify.service_expiring(service=service)
                warned += 1
    expired = 0
    # One waiting in a cascade goes when its turn comes (provisioning.cascade).
    due = Service.objects.filter(
        expires_at__lte=now,
        status__in=[ServiceStatus.ACTIVE, ServiceStatus.FAILED],
        deprovision_pending=False,
    ).exclude(runs__status__in=RUN_IN_PROGRESS)
    # One that live services use waits for them (its deprovision would be refused).
    due = due.exclude(
        pk__in=ServiceDependency.objects.exclude(
            service__status=ServiceStatus.DEPROVISIONED
        ).values("uses_id")
    )
    for service in due:
        expired += _queue_system_run(service, RunAction.DEPROVISION, RunTrigger.EXPIRY)
    return {"warned": warned, "expired": expired}


def schedule_drift_checks() -> int:
    """Queue a drift check for active services whose template asks for one and is due."""
    now = timezone.now()
    queued = 0
    candidates = (
        Service.objects.filter(
            status=ServiceStatus.ACTIVE,
            template_version__manifest__has_key="drift_check",
            deprovision_pending=False,  # a run would stop its cascade at its turn
        )
        .exclude(runs__status__in=RUN_IN_PROGRESS)
        .select_related("template_version")
    )
    for service in candidates:
        every = service.template_version.drift_check
        last = service.drift_checked_at or service.updated_at
        if every and last <= now - every:
            queued += _queue_system_run(service, RunAction.DRIFT_CHECK, RunTrigger.SCHEDULE)
    return queued


def _queue_system_run(service: Service, action: str, trigger: str) -> int:
    try:
        with transaction.atomic():
            queue_run(
                service=service,
                action=action,
                user=None,
                inputs=service.inputs,
                secrets=service.secrets,
                trigger=trigger,
            )
            if trigger == RunTrigger.EXPIRY:
                notify.service_expired(service=service)
    except IntegrityError:
        return 0  # a user started a run meanwhile; the next round looks again
    except Exception:
        log.exception("could not queue %s of service %s", action, service.pk)
        return 0
    return 1
