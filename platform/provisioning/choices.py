"""What inputs with `x-gangplank-choices` may be set to, for one requester: the one place
both the portal's form (what it lists) and the validation of every request, portal and API
alike (what it accepts), ask.

- inventory: the hosts of an inventory's group (inventories.selectors);
- services: the requester team's active services of a template that the user can see, by
  name, the value being the service's id as a string. When a service is changed, the team is
  the service's own, and the service it already points to stays a valid value while that
  service is live (not being deprovisioned, waiting for it in a cascade, nor gone): an
  update must not fail because its dependency happens to be updating at that moment. Nor
  may a service pick one that uses it, directly or not (no cycles);
- url: the items of a JSON document the server fetches (catalog.choice_lists); with
  `depends_on`, its URL is filled with that input's current value, and there are no choices
  while that input is empty or its value is not valid.
"""

from typing import Any

from catalog.choice_lists import Choices, filled_url, listed
from catalog.choice_specs import choice_kind, choice_sources
from core.types import AnyUser
from inventories.selectors import choices as host_choices
from inventories.selectors import picked_errors
from provisioning.models import Service, ServiceDependency
from provisioning.states import ServiceStatus
from teams import permissions
from teams.models import Team

NOT_LIVE = (ServiceStatus.DEPROVISIONING, ServiceStatus.DEPROVISIONED)


def choices_for(
    *,
    schema: dict,
    user: AnyUser,
    team: Team | None,
    values: dict,
    service: Service | None = None,
) -> dict[str, Choices]:
    """The choices of each input with choices, given the other inputs' current `values`
    (a service being changed: its team and inputs)."""
    return {
        name: _choices(
            name, source, schema=schema, user=user, team=team, values=values, service=service
        )
        for name, source in choice_sources(schema).items()
    }


def errors(
    *,
    schema: dict,
    user: AnyUser,
    team: Team | None,
    values: dict,
    service: Service | None = None,
    no_cycles: bool = False,
) -> dict[str, list[str]]:
    """Messages by input for values that are not among their input's choices; with
    `no_cycles` (the inputs of `service`, which make its edges), for services that use it."""
    found = picked_errors(schema=schema, inputs=values)
    users: set[int] | None = None
    for name, source in choice_sources(schema).items():
        value = values.get(name)
        if value == "" and name in schema.get("required", []):
            found[name] = ["This input is required."]  # nothing picked, said as the form does
        if choice_kind(source) == "inventory" or value is None or value == "":
            continue
        allowed = _choices(
            name, source, schema=schema, user=user, team=team, values=values, service=service
        )
        if not isinstance(value, str) or value not in allowed.values:
            found[name] = [_refusal(source, allowed)]
        elif choice_kind(source) == "services" and service is not None and no_cycles:
            users = users if users is not None else _users_of(service)
            if int(value) in users:
                found[name] = [f"It uses {service.name}, directly or not: it cannot be used by it."]
    return found


def _users_of(service: Service) -> set[int]:
    """The live services that use `service`, directly or not, and itself: what it may not
    pick (the services that use services make no cycle)."""
    found = {service.pk}
    frontier = {service.pk}
    while frontier:
        frontier = (
            set(
                ServiceDependency.objects.filter(uses__in=frontier)
                .exclude(service__status=ServiceStatus.DEPROVISIONED)
                .values_list("service_id", flat=True)
            )
            - found
        )
        found |= frontier
    return found


def _refusal(source: dict, allowed: Choices) -> str:
    if not allowed.options and allowed.problem:
        return allowed.problem
    if choice_kind(source) == "services":
        return f"Not one of the team's active {source['services']['template']} services."
    return "Not one of the choices."


def _choices(
    name: str,
    source: dict,
    *,
    schema: dict,
    user: AnyUser,
    team: Team | None,
    values: dict,
    service: Service | None,
) -> Choices:
    kind = choice_kind(source)
    if kind == "inventory":
        return Choices(options=[(host, host) for host in host_choices(**source)])
    if kind == "services":
        return _services(
            name,
            template=source["services"]["template"],
            user=user,
            team=service.team if service is not None else team,
            service=service,
        )
    url = filled_url(source, schema=schema, values=values)
    if url is None:
        title = _title(schema, source["depends_on"])
        if values.get(source["depends_on"]) in (None, ""):
            return Choices(problem=f"Choose {title} first.")
        return Choices(problem=f"Choose a valid {title} first.")
    return listed(source=source, url=url)


def _services(
    name: str, *, template: str, user: AnyUser, team: Team | None, service: Service | None
) -> Choices:
    if team is None:
        return Choices(problem="Choose the team first.")
    # One waiting in a cascade is on its way out: nothing new may come to use it.
    rows = Service.objects.filter(team=team, template__slug=template, deprovision_pending=False)
    active = permissions.restrict(rows.filter(status=ServiceStatus.ACTIVE), user=user)
    options = [(str(pk), label) for pk, label in active.order_by("name").values_list("pk", "name")]
    current = _current(service, name)
    if current is not None and current not in {value for value, _ in options}:
        kept = permissions.restrict(rows.exclude(status__in=NOT_LIVE), user=user)
        still = kept.filter(pk=current).values_list("pk", "name")
        options += [(str(pk), label) for pk, label in still]
    return Choices(options=options)


def _current(service: Service | None, name: str) -> int | None:
    value: Any = service.inputs.get(name) if service is not None else None
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 18 else None


def _title(schema: dict, name: str) -> str:
    prop = (schema.get("properties") or {}).get(name) or {}
    return str(prop.get("title") or name)
