"""The queue of runs, in the engine: queue one (or hold it for approval), release an
approved one, stop one that has not started, send queued runs to the workers. Every
function but `dispatch_run` works inside its caller's transaction; `services`, `approvals`
and `housekeeping` call them. Whether a run needs approval is the services' decision.
"""

from typing import cast

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from catalog.models import TemplateVersion
from core import dispatch, states
from core.errors import Conflict
from core.types import AnyUser
from provisioning import graph
from provisioning import inputs as inputs_
from provisioning.models import Run, Service
from provisioning.states import (
    RUN_NOT_STARTED,
    RUN_TRANSITIONS,
    STATUS_DURING,
    RunAction,
    RunStatus,
    RunTrigger,
    ServiceStatus,
)
from provisioning.transitions import set_service_status

# The name provisioning.tasks registers its task under: the queue sends it by name, so that
# the engine does not import the worker's entry points.
EXECUTE_RUN = "provisioning.execute_run"


def audited_changes(*, run: Run, service: Service) -> dict:
    """What the trail records of a run: a custom action's inputs (never secrets), else what
    it changes in the service's inputs."""
    if run.is_custom:
        return {name: [None, value] for name, value in run.parameters.items()}
    return run_changes(service=service, action=run.action, inputs=run.inputs, secrets=run.secrets)


def run_changes(*, service: Service, action: str, inputs: dict, secrets: str) -> dict:
    """What a run of `action` with these inputs changes in the service's, for the audit trail
    and its approvers (see inputs.audit_changes); nothing for a provision."""
    if action == RunAction.PROVISION:
        return {}
    return inputs_.audit_changes(service=service, inputs=inputs, secrets=secrets)


def queue_run(
    *,
    service: Service,
    action: str,
    user: AnyUser | None,
    inputs: dict,
    secrets: str = "",
    version: TemplateVersion | None = None,
    retry_of: Run | None = None,
    preview: Run | None = None,
    trigger: str = RunTrigger.USER,
    hold: bool = False,
    parameters: dict | None = None,
) -> Run:
    """Create a run inside the caller's transaction: queued, its service moved to its status
    during the run and the run sent to the workers once committed; or, when `hold`, awaiting
    approval (which the caller requests), its service left as it is.

    `inputs` hold PLACEHOLDER for each secret input; `secrets` their encrypted values;
    `parameters` a custom action's own inputs.

    The partial unique index on runs in progress makes a second run of the same service
    fail here with an IntegrityError, whichever process tries.
    """
    run = Run.objects.create(
        service=service,
        action=action,
        status=RunStatus.AWAITING_APPROVAL if hold else RunStatus.QUEUED,
        template_version=version or service.template_version,
        inputs=inputs,
        secrets=secrets,
        parameters=parameters or {},
        created_by=cast(User | None, user),
        retry_of=retry_of,
        preview=preview,
        trigger=trigger,
        service_status_before=service.status if action != RunAction.PROVISION else "",
    )
    Service.objects.filter(pk=service.pk).update(last_run=run, updated_at=timezone.now())
    service.last_run = run
    if hold:
        return run
    audit.record(
        action=f"run.queued.{action}",
        actor=user,
        obj=run,
        team=service.team,
        label=f"{run.action_name} of {service}",
        changes=audited_changes(run=run, service=service),
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


def stop_unstarted_run(*, run: Run, actor, reason: str) -> bool:
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
    if run.action == RunAction.DEPROVISION:
        graph.cascade_stopped(service=run.service, why=f"its deprovision was canceled: {reason}")
    return True


def dispatch_run(run_id: int) -> None:
    """Send a queued run to the workers and note when."""
    dispatch.send(EXECUTE_RUN, run_id)
    Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(dispatched_at=timezone.now())
