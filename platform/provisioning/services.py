"""Requesting services and running their playbooks: every write of the provisioning app."""

import logging
import re
from datetime import UTC
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import Template
from catalog.schema import validate_inputs
from core import permissions, states
from core.errors import InvalidRequest
from provisioning import runner
from provisioning.models import Run, RunEvent, Service
from provisioning.states import (
    RUN_TRANSITIONS,
    SERVICE_AFTER_RUN,
    SERVICE_TRANSITIONS,
    RunAction,
    RunStatus,
)
from teams.models import Team

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
NAME_RULE = "Use 2 to 63 lowercase letters, digits and hyphens, starting with a letter."


def request_service(*, user, template: Template, team: Team, name: str, inputs: dict) -> Service:
    """Create a service and queue its provision run; the run is dispatched once both commit."""
    errors: dict = {}
    if not template.is_requestable:
        errors["template"] = ["This template is retired or has not loaded; it takes no requests."]
    if not permissions.can(user, permissions.CHANGE, team):
        errors["team"] = ["You can only request services for your own teams."]
    if not NAME_RE.match(name or ""):
        errors["name"] = [NAME_RULE]
    elif _name_taken(team=team, name=name):
        errors["name"] = [f"{team.slug} already has a service named {name}."]
    version = template.current_version
    try:
        inputs = validate_inputs(version.inputs_schema, inputs) if version else inputs
    except InvalidRequest as exc:
        errors.update(exc.errors)
    if errors:
        raise InvalidRequest(errors)
    try:
        with transaction.atomic():
            service = Service.objects.create(
                name=name,
                team=team,
                template=template,
                template_version=version,
                inputs=inputs,
                created_by=user,
            )
            _queue_run(service=service, action=RunAction.PROVISION, user=user)
    except IntegrityError as exc:  # a concurrent request took the name first
        if _name_taken(team=team, name=name):
            raise InvalidRequest(
                {"name": [f"{team.slug} already has a service named {name}."]}
            ) from exc
        raise
    return service


def _name_taken(*, team: Team, name: str) -> bool:
    return Service.objects.filter(team=team, name=name).exists()


def _queue_run(*, service: Service, action: str, user) -> Run:
    from provisioning import tasks

    run = Run.objects.create(
        service=service,
        action=action,
        template_version=service.template_version,
        inputs=service.inputs,
        created_by=user,
    )
    Service.objects.filter(pk=service.pk).update(last_run=run)
    service.last_run = run
    # robust: a broker outage must not turn a saved request into an error page.
    transaction.on_commit(partial(tasks.execute_run.delay, run.pk), robust=True)
    return run


def execute_run(*, run_id: int) -> None:
    """Claim a queued run, run its playbook and record how it ended.

    The claim is a conditional update: a second delivery of the same message finds the run
    no longer queued and does nothing.
    """
    claimed = states.move(
        Run.objects.filter(pk=run_id),
        table=RUN_TRANSITIONS,
        to=RunStatus.RUNNING,
        started_at=timezone.now(),
    )
    if not claimed:
        log.info("run %s is not queued any more; nothing to do", run_id)
        return
    run = Run.objects.select_related("service__team", "template_version").get(pk=run_id)
    version = run.template_version
    try:
        result = runner.run_playbook(
            files=version.files,
            playbook=version.playbooks[run.action],
            extravars=_extravars(run),
            on_events=partial(record_events, run_id=run.pk),
            data_root=settings.RUNS_DIR,
        )
    except Exception as exc:
        log.exception("run %s could not be carried out", run_id)
        result = runner.PlaybookResult(
            status="failed", rc=None, error=f"{type(exc).__name__}: {exc}"
        )
    finish_run(run=run, result=result)


def _extravars(run: Run) -> dict:
    service = run.service
    return {
        **run.inputs,
        "gangplank": {
            "service_id": service.pk,
            "service_name": service.name,
            "team": service.team.slug,
            "run_id": run.pk,
            "action": run.action,
            "resources_dir": str(settings.RESOURCES_DIR),
        },
    }


@transaction.atomic
def finish_run(*, run: Run, result: runner.PlaybookResult) -> None:
    status = RunStatus.SUCCEEDED if result.ok else RunStatus.FAILED
    moved = states.move(
        Run.objects.filter(pk=run.pk),
        table=RUN_TRANSITIONS,
        to=status,
        finished_at=timezone.now(),
        rc=result.rc,
        outputs=result.outputs,
        error=result.error,
    )
    service_status = SERVICE_AFTER_RUN.get((run.action, status))
    if not moved or service_status is None:
        return
    changes = {"outputs": result.outputs} if result.ok else {}
    states.move(
        Service.objects.filter(pk=run.service_id),
        table=SERVICE_TRANSITIONS,
        to=service_status,
        updated_at=timezone.now(),
        **changes,
    )


def record_events(events: list[dict], *, run_id: int) -> None:
    """Store a batch of ansible-runner events with one INSERT; a replayed batch is ignored."""
    now = timezone.now()
    RunEvent.objects.bulk_create(
        [_event_row(run_id, event, now) for event in events], ignore_conflicts=True
    )


def _event_row(run_id: int, event: dict, now) -> RunEvent:
    data = event.get("event_data") or {}
    created = parse_datetime(event.get("created") or "") or now
    if timezone.is_naive(created):
        created = timezone.make_aware(created, UTC)
    return RunEvent(
        run_id=run_id,
        counter=event["counter"],
        event=event.get("event", "")[:100],
        task=str(data.get("task") or "")[:500],
        host=str(data.get("host") or "")[:255],
        stdout=event.get("stdout") or "",
        data=data,
        created_at=created,
    )
