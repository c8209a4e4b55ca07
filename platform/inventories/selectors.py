"""Reading inventories: the lists the portal and API show, the hosts a template's input may
pick from, checking what was picked, and the hosts a run reaches.

A manifest names hosts two ways (see catalog.loader): `targets: {inventory, group}` (the run
reaches every host of the group) and, on an input, `x-gangplank-choices: {inventory, group}`
(the requester picks one host, or several for an array). Both name the group `all` for every
host of the inventory.
"""

from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from catalog.choice_specs import choice_sources
from core.access import TargetHost
from core.types import AnyUser
from inventories.models import Host, Inventory
from inventories.validation import host_keys
from teams import permissions


class TargetError(Exception):
    """The hosts a run was to reach are not there any more (deleted since the request)."""


def inventories_for(*, user: AnyUser) -> QuerySet[Inventory]:
    """Every inventory with its hosts and the templates using it, in a constant number of
    queries (platform engineers only)."""
    permissions.check_model(user, Inventory)
    return Inventory.objects.restrict(user).prefetch_related(
        Prefetch("hosts", queryset=Host.objects.order_by("name")), "templates"
    )


def _in_group(hosts: Iterable[Host], group: str) -> list:
    return [host for host in hosts if group == "all" or group in host.groups]


def hosts_of(*, inventory: str, group: str) -> list[Host]:
    """The hosts of `group` in the inventory named `inventory`, by name (none if there is
    no such inventory)."""
    hosts = Host.objects.filter(inventory__name=inventory).order_by("name")
    return _in_group(hosts, group)


def choices(*, inventory: str, group: str) -> list[str]:
    """The names of the hosts an input with these `x-gangplank-choices` may pick."""
    return [host.name for host in hosts_of(inventory=inventory, group=group)]


def choice_inputs(schema: dict) -> dict[str, dict]:
    """The inputs of a schema that pick hosts: name -> {"inventory", "group"}."""
    return choice_sources(schema, "inventory")


def _picked(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def picked_errors(*, schema: dict, inputs: dict) -> dict[str, list[str]]:
    """Messages by input for picked values that are not hosts of the input's group."""
    errors: dict[str, list[str]] = {}
    for name, source in choice_inputs(schema).items():
        picked = _picked(inputs.get(name))
        if not picked:
            continue
        known = set(choices(**source))
        wrong = [value for value in picked if value not in known]
        if wrong:
            where = f"group {source['group']} in inventory {source['inventory']}"
            errors[name] = (
                [f"Not a host of {where}."]
                if isinstance(inputs[name], str)
                else [f"{value} is not a host of {where}." for value in wrong]
            )
    return errors


def target_hosts(*, manifest: dict, inputs: dict) -> list[TargetHost]:
    """The hosts a run of a template version (its `manifest`) with these `inputs` reaches:
    every host of its `targets` group, and every host picked in an input with choices (the
    runner puts each in the group `targets`, besides its own groups). Raises TargetError
    naming what is gone."""
    wanted: list[tuple[str, str | None, str]] = []  # (inventory, host name or None, group)
    targets = manifest.get("targets")
    if targets:
        wanted.append((targets["inventory"], None, targets["group"]))
    for name, source in choice_inputs(manifest.get("inputs") or {}).items():
        picked = _picked(inputs.get(name))
        wanted += [(source["inventory"], value, source["group"]) for value in picked]
    if not wanted:
        return []
    names = {inventory for inventory, _, _ in wanted}
    rows = Host.objects.filter(inventory__name__in=names).select_related("inventory")
    by_inventory: dict[str, list[Host]] = {name: [] for name in names}
    for host in rows.order_by("name"):
        by_inventory[host.inventory.name].append(host)
    found: dict[str, Host] = {}
    for inventory, host_name, group in wanted:
        hosts = _in_group(by_inventory[inventory], group)
        if host_name is None:
            if not hosts:
                raise TargetError(f"Group {group} of inventory {inventory} has no hosts.")
        else:
            hosts = [host for host in hosts if host.name == host_name]
            if not hosts:
                raise TargetError(
                    f"Host {host_name} is no longer in group {group} of inventory {inventory}."
                )
        for host in hosts:
            other = found.setdefault(host.name, host)
            if other.pk != host.pk:
                raise TargetError(
                    f"Two hosts are named {host.name} (inventories {other.inventory.name} "
                    f"and {host.inventory.name}): a run's hosts need distinct names."
                )
    return [_target(host) for host in sorted(found.values(), key=lambda h: h.name)]


def _target(host: Host) -> TargetHost:
    return TargetHost(
        name=host.name,
        address=host.address,
        port=host.port,
        groups=tuple(host.groups),
        variables=dict(host.variables),
        host_keys=host_keys(host.host_key),
    )


def uses_hosts(manifest: dict) -> bool:
    """Whether runs of this manifest reach hosts over SSH."""
    return bool(manifest.get("targets") or choice_inputs(manifest.get("inputs") or {}))


def inventory_names(manifest: dict) -> set[str]:
    """The inventories a manifest names, in `targets` and in inputs' choices."""
    names = {source["inventory"] for source in choice_inputs(manifest.get("inputs") or {}).values()}
    if manifest.get("targets"):
        names.add(manifest["targets"]["inventory"])
    return names
