"""Runs besides a user's change of a service's inputs: its template's custom day-2 actions
(catalog.actions), and the update a dependency's change asks for. Through services'
queue, so that approvals, the audit trail and one run at a time apply as to any run."""

from django.db import transaction
from django.http import Http404

from core.errors import Conflict
from core.types import AnyUser
from provisioning import inputs as inputs_
from provisioning import rules, services
from provisioning.models import Run, Service
from provisioning.states import RunAction, RunTrigger


def update_for_dependency(*, service_id: int) -> Run | None:
    """The update a dependency's change asks for (`on_dependency_change: update`): the
    service's own inputs, queued by nobody. None when the service cannot update now (a run
    in progress, its status): then it stays marked "dependency changed"."""
    service = (
        Service.objects.select_related("team", "template_version")
        .filter(pk=service_id, dependency_changed=True)
        .first()
    )
    if service is None or rules.action_refusal(service, RunAction.UPDATE):
        return None
    try:
        return services.queue_checked(
            service=service,
            action=RunAction.UPDATE,
            user=None,
            inputs=service.inputs,
            secrets=service.secrets,
            trigger=RunTrigger.DEPENDENCY,
        )
    except Conflict:
        return None


def run_action(*, user: AnyUser, service: Service, name: str, inputs: dict) -> Run:
    """Run a custom action of the service's template version (catalog.actions) with its own
    inputs, validated against its schema (defaults filled in): the run's `parameters`."""
    services.check_permission(user=user, service=service)
    action = service.template_version.actions.get(name)
    if action is None:
        raise Http404(
            f"{service.template.name} {service.template_version.version} has no action {name!r}."
        )
    if refusal := rules.action_refusal(service, name):
        raise Conflict(refusal)
    parameters = inputs_.for_action(schema=action.inputs, service=service, user=user, given=inputs)
    with transaction.atomic():
        # A custom action does not move the service's status, so nothing else re-checks it:
        # locked and read afresh, as a run that ended meanwhile (a deprovision) may have
        # changed it.
        service = (
            Service.objects.select_for_update(of=("self",))
            .select_related("team", "template", "template_version")
            .get(pk=service.pk)
        )
        if refusal := rules.action_refusal(service, name):
            raise Conflict(refusal)
        return services.queue_checked(
            service=service,
            action=name,
            user=user,
            inputs=service.inputs,
            secrets=service.secrets,
            parameters=parameters,
        )
