"""Keeping inventories and their hosts: platform engineers only, one transaction each,
every change on the audit trail (who, which inventory, which host and fields)."""

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from audit import services as audit
from core.errors import Conflict, InvalidRequest
from core.types import AnyUser
from inventories import validation
from inventories.models import Host, Inventory
from teams import permissions

HOST_DEFAULTS = {"port": 22, "groups": [], "variables": {}}


@transaction.atomic
def create_inventory(
    *, actor: AnyUser, name: str, description: str = "", hosts: list[dict] | None = None
) -> Inventory:
    """A new inventory, with `hosts` (each a dict of validation.HOST_FIELDS) if given."""
    permissions.check_model(actor, Inventory)
    errors = validation.inventory_errors(name=name, description=description)
    specs = _host_specs(hosts or [], errors)
    if not errors.get("name") and Inventory.objects.filter(name=name).exists():
        errors["name"] = ["An inventory with this name already exists."]
    if errors:
        raise InvalidRequest(errors)
    inventory = _saved(Inventory(name=name, description=description))
    Host.objects.bulk_create(Host(inventory=inventory, **spec) for spec in specs)
    audit.record(
        action="inventory.created",
        actor=actor,
        obj=inventory,
        changes={
            **audit.diff({}, {"name": name, "description": description}),
            **_host_changes({}, {spec["name"]: spec for spec in specs}),
        },
    )
    return inventory


@transaction.atomic
def update_inventory(
    *,
    actor: AnyUser,
    inventory: Inventory,
    name: str | None = None,
    description: str | None = None,
    hosts: list[dict] | None = None,
) -> Inventory:
    """Change what is given: the name, the description, and with `hosts` the whole set of
    hosts (those named as before are changed in place, the others added or removed)."""
    permissions.check_model(actor, Inventory)
    inventory = Inventory.objects.select_for_update().get(pk=inventory.pk)
    before = {"name": inventory.name, "description": inventory.description}
    after = {
        "name": before["name"] if name is None else name,
        "description": before["description"] if description is None else description,
    }
    errors = validation.inventory_errors(**after)
    specs = _host_specs(hosts, errors) if hosts is not None else None
    if not errors.get("name") and after["name"] != before["name"]:
        if Inventory.objects.filter(name=after["name"]).exists():
            errors["name"] = ["An inventory with this name already exists."]
        elif users := _template_names(inventory):
            errors["name"] = [
                f"Templates name this inventory in their manifest ({', '.join(users)}): "
                "it cannot be renamed while they use it."
            ]
    if errors:
        raise InvalidRequest(errors)
    inventory.name, inventory.description = after["name"], after["description"]
    _saved(inventory)
    changes = audit.diff(before, after)
    if specs is not None:
        changes.update(_replace_hosts(inventory, specs))
    if changes:
        audit.record(action="inventory.updated", actor=actor, obj=inventory, changes=changes)
    return inventory


@transaction.atomic
def delete_inventory(*, actor: AnyUser, inventory: Inventory) -> None:
    """Delete an inventory and its hosts; refused while templates use it."""
    permissions.check_model(actor, Inventory)
    inventory = Inventory.objects.select_for_update().get(pk=inventory.pk)
    hosts = {host.name: _snapshot(host) for host in inventory.hosts.all()}
    audit.record(
        action="inventory.deleted",
        actor=actor,
        obj=inventory,
        changes={
            **audit.diff({"name": inventory.name, "description": inventory.description}, {}),
            **_host_changes(hosts, {}),
        },
    )
    try:
        inventory.delete()
    except ProtectedError as exc:
        # The whole transaction, audit event included, is rolled back by the raise.
        names = sorted({link.template.name for link in exc.protected_objects})  # type: ignore[attr-defined]
        raise Conflict(
            f"Inventory {inventory.name} is used by templates: {', '.join(names)}. "
            "Remove it from their manifests (and sync) first."
        ) from None


@transaction.atomic
def add_host(
    *,
    actor: AnyUser,
    inventory: Inventory,
    name: str,
    address: str,
    host_key: str,
    port: int = 22,
    groups: list[str] | None = None,
    variables: dict | None = None,
) -> Host:
    permissions.check_model(actor, Inventory)
    inventory = Inventory.objects.select_for_update().get(pk=inventory.pk)
    fields = dict(name=name, address=address, port=port, host_key=host_key)
    spec = _valid_host({**fields, "groups": groups or [], "variables": variables or {}})
    if inventory.hosts.filter(name=name).exists():
        raise InvalidRequest({"name": [f"{inventory.name} already has a host named {name}."]})
    host = Host.objects.create(inventory=inventory, **spec)
    audit.record(
        action="host.added", actor=actor, obj=inventory, changes=_host_changes({}, {name: spec})
    )
    return host


@transaction.atomic
def change_host(
    *,
    actor: AnyUser,
    host: Host,
    name: str,
    address: str,
    host_key: str,
    port: int = 22,
    groups: list[str] | None = None,
    variables: dict | None = None,
) -> Host:
    """Replace a host's fields with those given."""
    permissions.check_model(actor, Inventory)
    inventory = Inventory.objects.select_for_update().get(pk=host.inventory_id)
    host = Host.objects.get(pk=host.pk)
    fields = dict(name=name, address=address, port=port, host_key=host_key)
    spec = _valid_host({**fields, "groups": groups or [], "variables": variables or {}})
    if name != host.name and inventory.hosts.filter(name=name).exists():
        raise InvalidRequest({"name": [f"{inventory.name} already has a host named {name}."]})
    before = _snapshot(host)
    for field, value in spec.items():
        setattr(host, field, value)
    host.save()
    changes = _host_changes({before["name"]: before}, {name: spec})
    if changes:
        audit.record(action="host.changed", actor=actor, obj=inventory, changes=changes)
    return host


@transaction.atomic
def remove_host(*, actor: AnyUser, host: Host) -> None:
    permissions.check_model(actor, Inventory)
    inventory = Inventory.objects.select_for_update().get(pk=host.inventory_id)
    removed = Host.objects.filter(pk=host.pk).first()
    if removed is None:
        return
    removed.delete()
    audit.record(
        action="host.removed",
        actor=actor,
        obj=inventory,
        changes=_host_changes({removed.name: _snapshot(removed)}, {}),
    )


def _saved(inventory: Inventory) -> Inventory:
    """Save, turning a lost race for the name into the same field error."""
    try:
        with transaction.atomic():
            inventory.save()
    except IntegrityError:
        raise InvalidRequest({"name": ["An inventory with this name already exists."]}) from None
    return inventory


def _template_names(inventory: Inventory) -> list[str]:
    return sorted(inventory.templates.values_list("name", flat=True))


def _normalised(spec: dict) -> dict:
    spec = {**HOST_DEFAULTS, **spec}
    if isinstance(spec.get("host_key"), str):
        spec["host_key"] = "\n".join(validation.host_keys(spec["host_key"]))
    return spec


def _valid_host(spec: dict) -> dict:
    spec = _normalised(spec)
    errors = validation.host_errors(spec)
    if errors:
        raise InvalidRequest(errors)
    return spec


def _host_specs(hosts: object, errors: dict) -> list[dict]:
    """The hosts normalised; their problems into `errors["hosts"]`, a list with one dict of
    field messages per host (empty for a sound one), as DRF gives nested errors."""
    if not isinstance(hosts, list) or not all(isinstance(spec, dict) for spec in hosts):
        errors["hosts"] = ["Must be a list of hosts (objects)."]
        return []
    specs = [_normalised(spec) for spec in hosts]
    problems = [validation.host_errors(spec) for spec in specs]
    seen: set[str | None] = set()
    for spec, problem in zip(specs, problems, strict=True):
        if spec.get("name") in seen:
            problem.setdefault("name", []).append("Another host of the list has this name.")
        seen.add(spec.get("name"))
    if any(problems):
        errors["hosts"] = problems
    return specs


def _replace_hosts(inventory: Inventory, specs: list[dict]) -> dict:
    current = {host.name: host for host in inventory.hosts.all()}
    before = {name: _snapshot(host) for name, host in current.items()}
    after = {spec["name"]: spec for spec in specs}
    Host.objects.filter(pk__in=[h.pk for n, h in current.items() if n not in after]).delete()
    for name, spec in after.items():
        host = current.get(name) or Host(inventory=inventory)
        if name not in before or before[name] != spec:
            for field, value in spec.items():
                setattr(host, field, value)
            host.save()
    return _host_changes(before, after)


def _snapshot(host: Host) -> dict:
    return {field: getattr(host, field) for field in validation.HOST_FIELDS}


def _host_changes(before: dict[str, dict], after: dict[str, dict]) -> dict:
    """Audit changes of hosts by name: a whole host added or removed, else its changed fields."""
    changes = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            changes[f"host {name}"] = [old, new]
            continue
        for field, values in audit.diff(old, new).items():
            changes[f"host {name}.{field}"] = values
    return changes
