"""The lowest layer of runs: queue one (or hold it for approval), release an approved one,
stop one that has not started, and move a service through its statuses. Every function
works inside its caller's transaction; `services` and `approvals` call them.
"""

from typing import Any, cast

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from catalog.models import TemplateVersion
from core import audit, states
from core.errors import Conflict
from core.types import AnyUser
from provisioning import inputs as inputs_
from provisioning.models import Run, Service, ServiceEvent
from provisioning.states import (
    RUN_NOT_STARTED,
    RUN_TRANSITIONS,
    SERVICE_TRANSITIONS,
    STATUS_DURING,
    RunAction,
    RunStatus,
    RunTrigger,
    ServiceStatus,
)


def queue_run(
    *,
    service: Service,
    action: str,
    user: AnyUser | None,
    inputs: dict,
    secrets: str = "",
    version: TemplateVersion | None = None,
    retry_of: Run | None = None,
    trigger: str = RunTrigger.USER,
) -> Run:
    """Queue a run (inside the caller's transaction) and move the service to its status, or,
    when the template's approval rule applies, hold it for its approvers.

    `inputs` hold PLACEHOLDER for each secret input; `secrets` their encrypted values.

    The partial unique index on runs in progress makes a second run of the same service
    fail here with an IntegrityError, whichever process tries.
    """
    from approvals.services import request_approval

    version = version or service.template_version
    changes = (
        inputs_.audit_changes(service=service, inputs=inputs, secrets=secrets)
        if action != RunAction.PROVISION
        else {}
    )
    rule = version.approval_rule if trigger == RunTrigger.USER else None
    if rule and not rule.applies(action=action, inputs=[inputs, service.inputs]):
        rule = None
    run = Run.objects.create(
        service=service,
        action=action,
        status=RunStatus.AWAITING_APPROVAL if rule else RunStatus.QUEUED,
        template_version=version,
        inputs=inputs,
        secrets=secrets,
        created_by=cast(User | None, user),
        retry_of=retry_of,
        trigger=trigger,
        service_status_before=service.status if action != RunAction.PROVISION else "",
    )
    Service.objects.filter(pk=service.pk).update(last_run=run, updated_at=timezone.now())
    service.last_run = run
    if rule:
        request_approval(run=run, rule=rule, changes=changes)
        return run
    audit.record(
        action=f"run.queued.{action}",
        actor=user,
        obj=run,
        team=service.team,
        label=f"{action} of {service}",
        changes=changes,
    )
    _start(run=run, service=service, actor=user)
    return run


def release_run(*, run: Run, actor: AnyUser | None) -> None:
    """Queue an approved run (inside the caller's transaction)."""
    if not states.move(Run.objects.filter(pk=run.pk), table=RUN_TRANSITIONS, to=RunStatus.QUEUED):
        raise Conflict(f"Run {run.pk} is no longer waiting for approval.")
    _start(
        run=run, service=Service.objects.select_related("team").get(pk=run.service_id), actor=actor
    )


def _start(*, run: Run, service: Service, actor: AnyUser | None) -> None:
    """Move the service to its status during the run and send the run once committed."""
    from provisioning.execution import dispatch_run

    during = STATUS_DURING.get(run.action)
    if during and during != service.status:
        moved = set_service_status(
            service=service, to=during, run=run, actor=actor, from_status=service.status
        )
        if not moved:
            raise Conflict(f"{service.name} changed meanwhile; reload and try again.")
        service.status = during
    # robust: a broker outage must not turn a saved request into an error; the periodic
    # dispatch sends runs left queued. (A lambda, not a partial: Django logs the callback's
    # __qualname__ when it fails.)
    run_id = run.pk
    transaction.on_commit(lambda: dispatch_run(run_id), robust=True)


def set_service_status(
    *,
    service: Service,
    to: str,
    run: Run | None = None,
    actor: AnyUser | None = None,
    message: str = "",
    from_status: str | None = None,
    **fields: Any,
) -> bool:
    """Move a service through the transition table and record it on its timeline and the
    audit trail. `service` (its team loaded, ideally) names it on the trail; its status is
    `from_status`, else read from the database, never taken from the object."""
    queryset = Service.objects.filter(pk=service.pk)
    if from_status is None:
        from_status = queryset.values_list("status", flat=True).first()
    moved = states.move(
        queryset.filter(status=from_status),
        table=SERVICE_TRANSITIONS,
        to=to,
        updated_at=timezone.now(),
        **fields,
    )
    if moved:
        ServiceEvent.objects.create(
            service_id=service.pk,
            kind=ServiceEvent.Kind.STATUS,
            run=run,
            from_status=cast(str, from_status),  # it moved: it had one
            to_status=to,
            actor=cast(User | None, actor),
            message=message,
        )
        audit.record(
            action="service.status",
            actor=actor,
            obj=service,
            changes={"status": [from_status, to]},
        )
    return bool(moved)


def stop_unstarted_run(*, run: Run, actor: AnyUser | None, reason: str) -> bool:
    """Cancel a run still waiting (for approval or a worker); its service goes back to where
    it was. Inside the caller's transaction; False when the run had started or ended."""
    if not states.move(
        Run.objects.filter(pk=run.pk, status__in=RUN_NOT_STARTED),
        table=RUN_TRANSITIONS,
        to=RunStatus.CANCELED,
        finished_at=timezone.now(),
        canceled_by=actor,
        error=reason,
    ):
        return False
    if run.action in STATUS_DURING:
        # A run that waited for approval never moved its service; then nothing moves here.
        set_service_status(
            service=run.service,
            to=run.service_status_before or ServiceStatus.DEPROVISIONED,
            run=run,
            actor=actor,
            message=f"{reason} Nothing was changed.",
        )
    return True
