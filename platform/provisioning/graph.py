"""Services that use services: the edges (kept in step with the inputs that pick a
service), the outputs a run is given of the services it uses, the order a teardown follows,
and the mark a change of outputs leaves on the services that use them.

Inside the caller's transaction; the services and the worker (execution) both call here.
"""

from django.db.models import QuerySet
from django.utils import timezone

from catalog.choice_specs import service_inputs
from catalog.models import TemplateVersion
from core import dispatch
from provisioning.models import Service, ServiceDependency, ServiceEvent
from provisioning.states import ServiceStatus

# The task (provisioning.tasks) that queues the update of a service whose manifest says
# `on_dependency_change: update`; sent by name, as the engine does not import tasks.
UPDATE_FOR_DEPENDENCY = "provisioning.update_for_dependency"
# The task that goes on with a cascading deprovision once one of its runs has succeeded.
CONTINUE_CASCADE = "provisioning.continue_cascade"


def picked(*, inputs: dict, version: TemplateVersion) -> dict[str, int]:
    """The services `inputs` pick: input name -> service id, for the inputs of `version`
    that pick a service and hold a usable id (anything else picks nothing)."""
    found = {}
    for name in service_inputs(version.inputs_schema or {}):
        value = inputs.get(name)
        if isinstance(value, bool) or not isinstance(value, str | int):
            continue
        text = str(value).strip()
        if text.isascii() and text.isdigit() and 0 < int(text) < 2**63:
            found[name] = int(text)
    return found


def sync(*, service: Service, inputs: dict, version: TemplateVersion) -> None:
    """Make the service's edges those its `inputs` (of `version`) pick: an id of no service,
    or of the service itself, makes none."""
    wanted = picked(inputs=inputs, version=version)
    existing = set(
        Service.objects.filter(pk__in=wanted.values())
        .exclude(pk=service.pk)
        .values_list("pk", flat=True)
    )
    wanted = {name: pk for name, pk in wanted.items() if pk in existing}
    current = {edge.input: edge for edge in ServiceDependency.objects.filter(service=service)}
    stale = [edge.pk for name, edge in current.items() if wanted.get(name) != edge.uses_id]
    ServiceDependency.objects.filter(pk__in=stale).delete()
    ServiceDependency.objects.bulk_create(
        [
            ServiceDependency(service=service, uses_id=pk, input=name)
            for name, pk in wanted.items()
            if name not in current or current[name].uses_id != pk
        ]
    )


def used_outputs(*, inputs: dict, version: TemplateVersion) -> dict[str, dict]:
    """What a run is given in `gangplank.uses`: for each input that picks a live service,
    that service's current outputs. One query."""
    wanted = picked(inputs=inputs, version=version)
    if not wanted:
        return {}
    outputs = dict(
        Service.objects.filter(pk__in=wanted.values())
        .exclude(status=ServiceStatus.DEPROVISIONED)
        .values_list("pk", "outputs")
    )
    return {name: outputs[pk] for name, pk in wanted.items() if pk in outputs}


def live_dependents(service_ids) -> QuerySet[Service]:
    """The services not deprovisioned that use any of `service_ids`."""
    return (
        Service.objects.filter(dependencies__uses__in=service_ids)
        .exclude(status=ServiceStatus.DEPROVISIONED)
        .distinct()
    )


def teardown_order(service: Service) -> list[Service]:
    """The live services that use `service`, directly or not, in the order they are
    deprovisioned: each after every one that uses it (leaves first). Not `service` itself."""
    found: dict[int, Service] = {}
    frontier = [service.pk]
    while frontier:
        layer = [s for s in live_dependents(frontier).select_related("team") if s.pk not in found]
        found.update((s.pk, s) for s in layer)
        frontier = [s.pk for s in layer]
    found.pop(service.pk, None)  # a cycle through the service itself
    edges = ServiceDependency.objects.filter(service__in=found, uses__in=found)
    users_of: dict[int, set[int]] = {pk: set() for pk in found}
    for user_pk, used_pk in edges.values_list("service_id", "uses_id"):
        users_of[used_pk].add(user_pk)
    order: list[Service] = []
    done: set[int] = set()
    while len(done) < len(found):
        ready = [pk for pk in found if pk not in done and users_of[pk] <= done]
        ready = ready or [pk for pk in found if pk not in done][:1]  # break a cycle
        for pk in sorted(ready):
            order.append(found[pk])
            done.add(pk)
    return order


def outputs_changed(*, service: Service, before: dict, after: dict) -> list[int]:
    """When a successful run changed `service`'s outputs (`before` -> `after`): mark the live
    services that use it "dependency changed", note it on their timelines, and have those
    whose template says `on_dependency_change: update` updated (a task sent on commit).
    Returns the ids marked. Inside the caller's transaction."""
    if before == after:
        return []
    dependents = list(
        live_dependents([service.pk]).select_related("template_version").order_by("pk")
    )
    if not dependents:
        return []
    Service.objects.filter(pk__in=[d.pk for d in dependents]).update(
        dependency_changed=True, dependency_changed_at=timezone.now()
    )
    _note(dependents, f"{service.name}, which it uses, changed its outputs")
    for dependent in dependents:
        if dependent.template_version.manifest.get("on_dependency_change") == "update":
            dispatch.send_on_commit(UPDATE_FOR_DEPENDENCY, dependent.pk, robust=True)
    return [d.pk for d in dependents]


def still_changed(*, service: Service, version: TemplateVersion) -> None:
    """A deploy of `service` (to `version`) succeeded but kept its "dependency changed" mark,
    set after the run started (it used the old outputs): when the template says
    `on_dependency_change: update`, have it updated again (a task sent on commit)."""
    if version.manifest.get("on_dependency_change") != "update":
        return
    if Service.objects.filter(pk=service.pk, dependency_changed=True).exists():
        dispatch.send_on_commit(UPDATE_FOR_DEPENDENCY, service.pk, robust=True)


def deprovisioned(*, service: Service) -> None:
    """A deprovision of `service` succeeded: the services waiting for it to go on with
    their cascade (see provisioning.cascade) are looked at once this commits."""
    if Service.objects.filter(dependents__service=service, deprovision_pending=True).exists():
        dispatch.send_on_commit(CONTINUE_CASCADE, service.pk, robust=True)


def cascade_stopped(*, service: Service, why: str) -> None:
    """A deprovision of `service` did not succeed: the services waiting for it, and those
    waiting for them, wait no more; their timelines say why."""
    waiting: list[Service] = []
    frontier = [service.pk]
    while frontier:
        layer = list(
            Service.objects.filter(dependents__service__in=frontier, deprovision_pending=True)
            .exclude(pk__in=[s.pk for s in waiting])
            .distinct()
        )
        waiting += layer
        frontier = [s.pk for s in layer]
    if not waiting:
        return
    Service.objects.filter(pk__in=[s.pk for s in waiting]).update(
        deprovision_pending=False, deprovision_requested_by=None
    )
    _note(waiting, f"cascading deprovision stopped: {why}")


def _note(services: list[Service], message: str) -> None:
    """The same line on the timeline of each of `services`."""
    ServiceEvent.objects.bulk_create(
        [
            ServiceEvent(service=service, kind=ServiceEvent.Kind.DEPENDENCY, message=message)
            for service in services
        ]
    )
