"""Deprovisioning a service together with the services that use it: they go first, leaves
first, each as its own run (so approvals and the audit trail apply to each), then the
service itself.

The services waiting for their turn are marked `deprovision_pending`; each time a
deprovision succeeds, the worker (execution -> graph) sends `continue_cascade` for the
services it used, and the ones nothing live uses any more are queued. A deprovision that
fails or is canceled stops the cascade there (graph.cascade_stopped).
"""

import logging

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit import services as audit
from core.errors import Conflict, InvalidRequest
from core.types import AnyUser
from provisioning import graph, rules, selectors, services
from provisioning.models import Run, Service, ServiceDependency
from provisioning.states import RUN_IN_PROGRESS, RunAction, RunTrigger, ServiceStatus
from teams import permissions

log = logging.getLogger(__name__)


def deprovision(
    *, user: AnyUser, service: Service, confirm: str | None = None, cascade: bool = False
) -> Run:
    """Deprovision `service`; with `cascade`, the live services that use it (directly or
    not) first. Returns the first run queued: the service's own when nothing uses it, else
    that of a service using it."""
    if not cascade:
        return services.deprovision_service(user=user, service=service, confirm=confirm)
    if confirm != service.name:
        raise InvalidRequest(
            {"confirm": [f"Type the service's name, {service.name}, to confirm the cascade."]}
        )
    order = graph.teardown_order(service)
    if not order:
        return services.deprovision_service(user=user, service=service, confirm=confirm)
    permissions.check(user, permissions.CHANGE, service)
    if refusal := rules.action_refusal(service, RunAction.DEPROVISION):
        raise Conflict(refusal)
    refused = [s for s in order if not permissions.can(user, permissions.CHANGE, s)]
    if refused:
        named = selectors.named_for(user=user, services=refused)
        raise Conflict(
            f"You may not deprovision {named}, which {'uses' if len(refused) == 1 else 'use'}"
            f" {service.name}: the cascade needs someone who may change them all."
        )
    blocked = [s for s in order if rules.action_refusal(s, RunAction.DEPROVISION)]
    if blocked:
        named = selectors.named_for(user=user, services=blocked)
        raise Conflict(f"{named} cannot be deprovisioned now: the cascade cannot start.")
    with transaction.atomic():
        pending = [*order, service]
        Service.objects.filter(pk__in=[s.pk for s in pending]).update(
            deprovision_pending=True, deprovision_requested_by=user
        )
        # Checked once they are marked, so that no run can start on them from now on (see
        # rules.action_refusal): one in progress would stop the cascade at its turn.
        _check_idle(user=user, services=pending)
        audit.record(
            action="service.cascade",
            actor=user,
            obj=service,
            changes={"deprovision_first": [None, [str(s) for s in order]]},
        )
        runs = _advance(candidates=order, strict=True)
        if not runs:  # services that use each other: none can go first
            raise Conflict(
                f"The services that use {service.name} use each other: none can go first."
            )
    return runs[0]


def _check_idle(*, user: AnyUser, services: list[Service]) -> None:
    busy = set(
        Run.objects.filter(
            service__in=[s.pk for s in services], status__in=RUN_IN_PROGRESS
        ).values_list("service_id", flat=True)
    )
    if busy:
        named = selectors.named_for(user=user, services=[s for s in services if s.pk in busy])
        verb = "has a run" if len(busy) == 1 else "have runs"
        raise Conflict(
            f"{named} {verb} in progress (or awaiting approval): the cascade cannot start"
            " until it has ended."
        )


def continue_cascade(*, service_id: int) -> list[Run]:
    """`service_id` has been deprovisioned: queue the deprovision of the services waiting
    for it that nothing live uses any more."""
    with transaction.atomic():
        candidates = Service.objects.filter(
            dependents__service_id=service_id, deprovision_pending=True
        ).distinct()
        return _advance(candidates=list(candidates))


def resume_lost() -> list[Run]:
    """Go on with the cascades whose `continue_cascade` was lost (sent robustly, so a
    broker outage only logs it): queue the services waiting that nothing live uses and
    that have no run in progress. Beat's sweep; safe to run twice or concurrently."""
    stuck = (
        Service.objects.filter(deprovision_pending=True)
        .exclude(runs__status__in=RUN_IN_PROGRESS)
        .exclude(
            pk__in=ServiceDependency.objects.exclude(
                service__status=ServiceStatus.DEPROVISIONED
            ).values("uses_id")
        )
    )
    runs = []
    for service in stuck:
        with transaction.atomic():
            runs += _advance(candidates=[service])
    return runs


def _advance(*, candidates: list[Service], strict: bool = False) -> list[Run]:
    """Queue the deprovision of each candidate still waiting that nothing live uses, as the
    user who asked for the cascade (inside the caller's transaction). A refusal stops the
    cascade there; when `strict` (the cascade's request itself), it is raised."""
    runs = []
    for candidate in candidates:
        if graph.live_dependents([candidate.pk]).exists():
            continue  # its turn comes once they are gone
        taken = Service.objects.filter(pk=candidate.pk, deprovision_pending=True)
        requester = taken.values_list("deprovision_requested_by", flat=True).first()
        # Conditional: of two continuations racing, one queues the run.
        if not taken.update(deprovision_pending=False, deprovision_requested_by=None):
            continue
        service = Service.objects.select_related("team", "template_version").get(pk=candidate.pk)
        user = User.objects.filter(pk=requester).first() if requester else None
        try:
            if user is None:
                raise Conflict("the user who asked for it is gone")
            runs.append(
                services.deprovision_service(user=user, service=service, trigger=RunTrigger.CASCADE)
            )
        except (Conflict, PermissionDenied) as exc:
            if strict:
                raise
            log.warning("cascading deprovision stops at %s: %s", service, exc)
            graph.cascade_stopped(
                service=service, why=f"{service.name} could not be deprovisioned: {exc}"
            )
    return runs
