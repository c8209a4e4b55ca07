"""The worker's side of a run: claim it, run its playbook, record how it ended."""

import json
import logging
import socket
import time
import traceback
from collections.abc import Callable
from datetime import UTC
from functools import partial
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit import services as audit
from core import masking, states
from core import secrets as secrets_
from core.text import cleaned
from credentials.selectors import UnknownCredential, injection_for
from inventories.selectors import TargetError, target_hosts
from notifications import events as notify
from provisioning import graph, runner, variables
from provisioning.inputs import plaintext
from provisioning.models import Run, RunEvent, Service, ServiceEvent
from provisioning.rules import status_after_custom
from provisioning.states import (
    PLAYBOOK_OF,
    RUN_TRANSITIONS,
    STATUS_AFTER_SUCCESS,
    STATUS_DURING,
    RunAction,
    RunStatus,
    ServiceStatus,
)
from provisioning.transitions import set_service_status

log = logging.getLogger(__name__)

RUNNER_STATUS = {runner.SUCCESSFUL: RunStatus.SUCCEEDED, runner.CANCELED: RunStatus.CANCELED}
# What a database restart or failover raises in the worker while it is away.
DATABASE_GONE = (OperationalError, InterfaceError)


def execute_run(*, run_id: int) -> None:
    """Claim a queued run, run its playbook and record how it ended.

    The claim is a conditional update: a second delivery of the same message finds the run
    no longer queued and does nothing, so a run is never started twice.
    """
    now = timezone.now()
    claimed = states.move(
        Run.objects.filter(pk=run_id),
        table=RUN_TRANSITIONS,
        to=RunStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=socket.gethostname(),
    )
    if not claimed:
        log.info("run %s is not queued any more; nothing to do", run_id)
        return
    run = Run.objects.select_related("service__team", "template_version").get(pk=run_id)
    version = run.template_version
    timeout = version.timeout
    hidden: list[str] = []
    journal = _Journal(run_id=run.pk)
    try:
        values = secrets_.decrypt(token=run.secrets)
        # The service's values too: the one a change replaces shows in a diff's "before".
        current = secrets_.decrypt(token=run.service.secrets)
        hidden = [*values.values(), *current.values()]
        injection = injection_for(names=version.manifest.get("credentials") or [])
        hidden += injection.secrets
        hosts = target_hosts(manifest=version.manifest, inputs=run.inputs)
        result = runner.run_playbook(
            files=version.files,
            playbook=_playbook(run),
            extravars=extravars(run, secrets=values),
            on_events=journal.record,
            data_root=settings.RUNS_DIR,
            check=run.is_check_mode,
            on_tick=journal.tick,
            timeout=timeout.total_seconds() if timeout else None,
            secrets=hidden,
            label=runner.data_dir_label(run.pk),
            injection=injection,
            sandboxed=settings.GANGPLANK_SANDBOX,
            writable=[settings.RESOURCES_DIR],
            content=version.content_path,
            hosts=hosts,
        )
    # A credential or a host deleted since the request, an emptied group: said as it is.
    except (UnknownCredential, TargetError) as exc:
        result = runner.PlaybookResult(status=runner.FAILED, rc=None, error=str(exc))
    except Exception as exc:
        # Neither the error nor the traceback may carry a secret into the log or the run.
        hide = masking.masker(hidden)
        log.error(
            "run %s could not be carried out:\n%s",
            run_id,
            hide("".join(traceback.format_exception(exc))),
        )
        result = runner.PlaybookResult(
            status=runner.FAILED, rc=None, error=hide(f"{type(exc).__name__}: {exc}")
        )
    journal.finish(run=run, result=result)


def _playbook(run: Run) -> str:
    """A built-in's playbook (PLAYBOOK_OF) or the custom action's, of the run's version."""
    version = run.template_version
    if run.is_custom:
        return version.manifest["actions"][run.action]["playbook"]
    return version.playbooks[PLAYBOOK_OF[run.action]]


def extravars(run: Run, *, secrets: dict) -> dict:
    """The run's variables (see provisioning.variables), its secret inputs' values
    (`secrets`, the run's, decrypted) put back."""
    service = run.service
    return variables.extravars(
        inputs=plaintext(inputs=run.inputs, secrets=secrets),
        parameters=run.parameters,
        service_id=service.pk,
        service_name=service.name,
        team=service.team.slug,
        run_id=run.pk,
        action=run.action,
        resources_dir=str(settings.RESOURCES_DIR),
        uses=graph.used_outputs(inputs=run.inputs, version=run.template_version),
    )


class _Journal:
    """What the worker writes while a playbook runs: its events, its heartbeat, its end.

    A database outage (a restart, a failover) does not stop the playbook: its events wait
    in memory and are written in order once the database answers again (a replayed event is
    ignored), and the heartbeat resumes. An outage longer than the lost-run limit gets the
    run failed as lost meanwhile; its next tick then stops the playbook.
    """

    def __init__(self, *, run_id: int):
        self.run_id = run_id
        self.pending: list[dict] = []
        self.away = False  # the database, since the last write that failed

    def record(self, events: list[dict]) -> None:
        self.pending += events
        self._attempt(self._flush)

    def tick(self) -> bool:
        # While the database is away nobody can have asked the run to stop: it goes on.
        return bool(self._attempt(partial(_tick, run_id=self.run_id)))

    def finish(self, *, run: Run, result: runner.PlaybookResult) -> None:
        """Write the last events and the run's end, waiting out an outage for up to the
        lost-run limit (past it, `fail_lost_runs` has failed the run, or will)."""
        deadline = time.monotonic() + settings.GANGPLANK_RUN_LOST_AFTER_SECONDS
        while not self._attempt(partial(self._finish, run=run, result=result)):
            if time.monotonic() > deadline:
                raise OperationalError(f"run {run.pk}: the database did not come back")
            time.sleep(1)

    def _flush(self) -> None:
        if self.pending:
            record_events(self.pending, run_id=self.run_id)
            self.pending = []

    def _finish(self, *, run: Run, result: runner.PlaybookResult) -> bool:
        self._flush()
        finish_run(run=run, result=result)
        return True

    def _attempt(self, write: Callable[[], Any]) -> Any:
        """`write()`, or None while the database is away (said once per outage)."""
        try:
            done = write()
        except DATABASE_GONE as exc:
            if not self.away:
                log.warning(
                    "run %s: the database is unreachable (%s); writes wait", self.run_id, exc
                )
            self.away = True
            connection.close()  # the next query opens a new connection
            return None
        if self.away:
            log.info("run %s: the database is back", self.run_id)
            self.away = False
        return done


def _tick(*, run_id: int) -> bool:
    """Beat the run's heartbeat; True when it should stop (canceled, or failed as lost).

    One conditional UPDATE: it beats only while the run is running and not asked to stop.
    """
    beating = Run.objects.filter(
        pk=run_id, status=RunStatus.RUNNING, cancel_requested_at__isnull=True
    ).update(heartbeat_at=timezone.now())
    return not beating


@transaction.atomic
def finish_run(*, run: Run, result: runner.PlaybookResult) -> bool:
    """Record the run's end and what it makes of its service, in one transaction."""
    status = RUNNER_STATUS.get(result.status, RunStatus.FAILED)
    error, outputs, diffs, skipped = cleaned(
        [result.error, result.outputs, result.changes, result.skipped]
    )
    if status == RunStatus.CANCELED:
        canceler = Run.objects.filter(pk=run.pk).values_list("canceled_by__username", flat=True)
        error = f"canceled by {canceler.first() or 'the platform'} while running"
    moved = states.move(
        Run.objects.filter(pk=run.pk),
        table=RUN_TRANSITIONS,
        to=status,
        finished_at=timezone.now(),
        rc=result.rc,
        outputs=outputs,
        changes=diffs,
        skipped_tasks=skipped,
        error=error,
    )
    if not moved:
        return False
    audit.record(
        action="run.finished",
        obj=run,
        team=run.service.team,
        changes={"status": [RunStatus.RUNNING, status], "rc": [None, result.rc]},
    )
    notify.run_finished(run=run, status=status, error=error)
    if run.action == RunAction.DRIFT_CHECK and status == RunStatus.SUCCEEDED:
        _record_drift(run=run, changes=diffs)
    if run.is_custom:
        _finish_custom(run=run, status=status, outputs=outputs, error=error)
        return True
    if run.action not in STATUS_DURING:
        return True
    if status == RunStatus.SUCCEEDED:
        changes: dict[str, Any] = {"failed_action": ""}
        if run.action != RunAction.DEPROVISION:
            changes.update(
                inputs=run.inputs,
                secrets=run.secrets,
                outputs=outputs,
                template_version_id=run.template_version_id,
                drifted=False,
                drift=[],
                dependency_changed=_unmarked(run),
            )
        moved = set_service_status(
            service=run.service, to=STATUS_AFTER_SUCCESS[run.action], run=run, **changes
        )
        if moved:
            _follow_dependencies(run=run, outputs=outputs)
    else:
        if run.action == RunAction.DEPROVISION:
            graph.cascade_stopped(
                service=run.service, why=f"the deprovision of {run.service.name} {status}"
            )
        message = f"{run.action_label.lower()} {status}: {error}"
        if status == RunStatus.CANCELED:
            message += "; the service may be partly changed: retry, update or clean up"
        set_service_status(
            service=run.service,
            to=ServiceStatus.FAILED,
            run=run,
            message=message,
            failed_action=run.action,
        )
    return True


def _follow_dependencies(*, run: Run, outputs: dict) -> None:
    """What a run that succeeded changes in the graph: a deploy syncs the service's edges
    with its new inputs and marks the services that use it when its outputs changed; a
    deprovision lets a cascade waiting for it go on."""
    service = run.service
    if run.action == RunAction.DEPROVISION:
        graph.deprovisioned(service=service)
        return
    graph.sync(service=service, inputs=run.inputs, version=run.template_version)
    graph.outputs_changed(service=service, before=service.outputs, after=outputs)
    if run.started_at is not None:
        graph.still_changed(service=service, version=run.template_version)


def _unmarked(run: Run) -> Any:
    """The "dependency changed" mark once `run` (a deploy) succeeded: cleared, unless it was
    set after the run started, whose playbook then read the outputs from before the change."""
    if run.started_at is None:
        return False
    return Case(
        When(dependency_changed_at__gte=run.started_at, then=F("dependency_changed")),
        default=Value(False),
    )


def _finish_custom(*, run: Run, status: str, outputs: dict, error: str) -> None:
    """A custom action never moved its service: on success its outputs join the service's
    (and a service it had failed is active again); on failure the service stays as it was,
    unless the action says `on_failure: failed`."""
    service = run.service
    succeeded = status == RunStatus.SUCCEEDED
    after = status_after_custom(
        action=run.template_version.actions.get(run.action),
        status=service.status,
        succeeded=succeeded,
    )
    changes: dict[str, Any] = {}
    if succeeded:
        changes = {"outputs": {**service.outputs, **outputs}, "failed_action": ""}
        graph.outputs_changed(service=service, before=service.outputs, after=changes["outputs"])
    elif after == ServiceStatus.FAILED:
        changes = {"failed_action": run.action}
    if after != service.status:
        message = "" if succeeded else f"{run.action_label} {status}: {error}"
        set_service_status(
            service=service,
            to=after,
            run=run,
            message=message,
            from_status=service.status,
            **changes,
        )
    elif changes:
        Service.objects.filter(pk=service.pk).update(updated_at=timezone.now(), **changes)


def _record_drift(*, run: Run, changes: list[dict]) -> None:
    service, drifted = run.service, bool(changes)
    # The service was read once this run was claimed, and only a run of the service (one at
    # a time) changes `drifted`: it still holds what the database does.
    if drifted and not service.drifted:
        notify.drift_detected(service=service, tasks=[c["task"] for c in changes])
    found = {"drifted": drifted, "drift": changes, "drift_checked_at": timezone.now()}
    Service.objects.filter(pk=service.pk).update(**found)
    for name, value in found.items():
        setattr(service, name, value)
    tasks = ", ".join(change["task"] for change in changes)
    ServiceEvent.objects.create(
        service_id=run.service_id,
        kind=ServiceEvent.Kind.DRIFT,
        run=run,
        message=f"drifted: {tasks} would change" if drifted else "no drift",
    )


def record_events(events: list[dict], *, run_id: int) -> None:
    """Store a batch of ansible-runner events; a replayed event (same run and counter) is
    ignored. The batch is stored whole or not at all, in the caller's transaction if any."""
    now = timezone.now()
    rows = [_event_row(run_id, event, now) for event in events]
    if connection.vendor != "postgresql":
        RunEvent.objects.bulk_create([RunEvent(**row) for row in rows], ignore_conflicts=True)
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_STAGING)
        with connection.wrap_database_errors, cursor.copy(_COPY_STAGED) as copy:
            for position, row in enumerate(rows):
                values = [json.dumps(row[c]) if c == "data" else row[c] for c in _COLUMNS]
                copy.write_row([position, *values])
        cursor.execute(_INSERT_STAGED)


# COPY cannot skip a replayed event (ON CONFLICT), so a batch is copied into a temporary table
# of the connection's own and moved from there in one INSERT ... ON CONFLICT DO NOTHING that
# also empties it, in the batch's order (the first of a repeated counter is kept, as before).
# Measured with bench/events.py: about 1.5x one INSERT of unnest arrays, 2x bulk_create's.
_COLUMNS = ("run_id", "counter", "event", "task", "host", "stdout", "data", "created_at")
_STAGING = """
    CREATE TEMPORARY TABLE IF NOT EXISTS runevent_staging (
        position integer, run_id bigint, counter integer, event text, task text, host text,
        stdout text, data jsonb, created_at timestamptz
    )
"""
_COPY_STAGED = f"COPY runevent_staging (position, {', '.join(_COLUMNS)}) FROM STDIN"
_INSERT_STAGED = f"""
    WITH batch AS (DELETE FROM runevent_staging RETURNING position, {", ".join(_COLUMNS)})
    INSERT INTO {RunEvent._meta.db_table} ({", ".join(_COLUMNS)})
    SELECT {", ".join(_COLUMNS)} FROM batch ORDER BY position
    ON CONFLICT (run_id, counter) DO NOTHING
"""


def _event_row(run_id: int, event: dict, now) -> dict[str, Any]:
    """The RunEvent's fields of one event, by column."""
    event = cleaned(event)
    data = event.get("event_data") or {}
    created = parse_datetime(event.get("created") or "") or now
    if timezone.is_naive(created):
        created = timezone.make_aware(created, UTC)
    return {
        "run_id": run_id,
        "counter": event["counter"],
        "event": event.get("event", "")[:100],
        "task": str(data.get("task") or "")[:500],
        "host": str(data.get("host") or "")[:255],
        "stdout": event.get("stdout") or "",
        "data": data,
        "created_at": created,
    }
