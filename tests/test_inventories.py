"""Inventories of SSH hosts: what a host may hold, keeping them (services and API), the
catalogue naming them, hosts picked in inputs, and the hosts a run reaches."""

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from audit.models import AuditEvent
from conftest import api_client_for
from core.errors import Conflict, InvalidRequest
from inventories import selectors, services
from inventories.models import Host, Inventory

pytestmark = pytest.mark.django_db

INVENTORY_CATALOG = Path(__file__).parent / "inventory_catalog"


def public_key(kind: str = "ed25519") -> str:
    key = (
        ed25519.Ed25519PrivateKey.generate()
        if kind == "ed25519"
        else ec.generate_private_key(ec.SECP256R1())
    )
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def host(name: str, groups=("web",), **extra) -> dict:
    return {"name": name, "address": f"{name}.example.internal", "port": 22,
            "groups": list(groups), "variables": {}, "host_key": public_key(), **extra}  # fmt: skip


@pytest.fixture
def shared_hosts(ops) -> Inventory:
    return services.create_inventory(
        actor=ops,
        name="shared-hosts",
        description="Hosts everyone shares.",
        hosts=[host("web-1"), host("web-2"), host("db-1", groups=["db"])],
    )


@pytest.fixture
def deploy_key(db):
    from credentials.models import Credential

    return Credential.objects.create(name="deploy-key", type="ssh")


@pytest.fixture
def targeted(shared_hosts, deploy_key):
    """The inventory catalogue's templates (fleet, picker), loaded."""
    from catalog.models import Template
    from catalog.services import sync_catalog

    sync_catalog(directory=INVENTORY_CATALOG)
    return {t.slug: t for t in Template.objects.select_related("current_version")}


# What a host may hold


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "web 1", "Letters, digits"),
        ("address", "-bad-.example", "host name"),
        ("port", 0, "1 to 65535"),
        ("port", 65536, "1 to 65535"),
        ("groups", ["targets"], "Reserved"),
        ("groups", ["1web"], "Not a group name"),
        ("variables", {"ansible_host": "10.0.0.9"}, "set by the platform"),
        ("variables", {"not a name": 1}, "not a variable name"),
        ("variables", ["a"], "JSON object"),
        ("host_key", "web-1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "drop the host name"),
        ("host_key", "ssh-dss AAAAB3NzaC1kc3M=", "unknown key type"),
        ("host_key", "ssh-ed25519 not*base64", "not valid base64"),
        ("host_key", "ssh-rsa " + public_key().split()[1], "is of type 'ssh-ed25519'"),
    ],
)
def test_it_refuses_a_host_field_with_a_message_on_that_field(ops, field, value, message):
    with pytest.raises(InvalidRequest) as refused:
        services.create_inventory(actor=ops, name="lab", hosts=[{**host("web-1"), field: value}])

    assert message in refused.value.errors["hosts"][0][field][0]
    assert not Inventory.objects.filter(name="lab").exists()


def test_it_accepts_ips_several_keys_and_the_allowed_ansible_variables(ops):
    spec = host(
        "db.primary_1",
        address="fd00::5",
        groups=[],
        variables={"ansible_python_interpreter": "/usr/bin/python3", "ansible_become": True},
        host_key=f"{public_key()}\n  {public_key('ecdsa')}  \n",
    )

    inventory = services.create_inventory(actor=ops, name="lab", hosts=[spec])

    saved = inventory.hosts.get()
    assert saved.address == "fd00::5"
    assert [line.split()[0] for line in saved.host_key.splitlines()] == [
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
    ]


def test_it_refuses_two_hosts_of_one_name(ops):
    with pytest.raises(InvalidRequest) as refused:
        services.create_inventory(actor=ops, name="lab", hosts=[host("a"), host("a")])

    assert refused.value.errors["hosts"][0] == {}
    assert "has this name" in refused.value.errors["hosts"][1]["name"][0]


# Keeping inventories


def test_it_records_who_created_what_on_the_audit_trail(shared_hosts, ops):
    event = AuditEvent.objects.get(action="inventory.created")

    assert event.actor == "ops"
    assert event.object_repr == "shared-hosts"
    assert event.changes["name"] == [None, "shared-hosts"]
    assert event.changes["host web-1"][1]["address"] == "web-1.example.internal"


def test_it_replaces_the_hosts_keeping_those_named_as_before(shared_hosts, ops):
    web_1 = shared_hosts.hosts.get(name="web-1")
    kept = {**host("web-1"), "host_key": web_1.host_key, "port": 2222}

    services.update_inventory(actor=ops, inventory=shared_hosts, hosts=[kept, host("web-3")])

    hosts = {h.name: h for h in shared_hosts.hosts.all()}
    assert sorted(hosts) == ["web-1", "web-3"]
    assert hosts["web-1"].pk == web_1.pk and hosts["web-1"].port == 2222
    changes = AuditEvent.objects.get(action="inventory.updated").changes
    assert changes["host web-1.port"] == [22, 2222]
    assert changes["host web-2"][1] is None and changes["host db-1"][1] is None
    assert changes["host web-3"][0] is None


def test_a_refused_host_set_changes_nothing(shared_hosts, ops):
    with pytest.raises(InvalidRequest):
        services.update_inventory(
            actor=ops, inventory=shared_hosts, description="new", hosts=[host("x", port=0)]
        )

    shared_hosts.refresh_from_db()
    assert shared_hosts.description == "Hosts everyone shares."
    assert shared_hosts.hosts.count() == 3


def test_single_host_changes_are_audited_with_their_fields(shared_hosts, ops):
    added = services.add_host(actor=ops, inventory=shared_hosts, **host("web-9"))
    services.change_host(actor=ops, host=added, **{**host("web-9"), "groups": ["web", "edge"]})
    services.remove_host(actor=ops, host=added)

    events = {e.action: e.changes for e in AuditEvent.objects.filter(action__startswith="host.")}
    assert events["host.added"]["host web-9"][0] is None
    assert events["host.changed"]["host web-9.groups"] == [["web"], ["web", "edge"]]
    assert events["host.removed"]["host web-9"][1] is None


def test_it_refuses_a_second_host_of_the_same_name(shared_hosts, ops):
    with pytest.raises(InvalidRequest) as refused:
        services.add_host(actor=ops, inventory=shared_hosts, **host("web-1"))

    assert "already has a host named web-1" in refused.value.errors["name"][0]


def test_only_platform_engineers_keep_inventories(owner, auditor):
    from django.core.exceptions import PermissionDenied

    for user in (owner, auditor):
        with pytest.raises(PermissionDenied, match="Only platform engineers"):
            services.create_inventory(actor=user, name="lab")


def test_deleting_an_inventory_templates_use_is_refused_naming_them(targeted, ops):
    inventory = Inventory.objects.get(name="shared-hosts")

    with pytest.raises(Conflict) as refused:
        services.delete_inventory(actor=ops, inventory=inventory)

    assert "Fleet, Picker" in str(refused.value)
    assert Host.objects.filter(inventory=inventory).count() == 3
    assert not AuditEvent.objects.filter(action="inventory.deleted").exists()


def test_an_unused_inventory_is_deleted_with_its_hosts(shared_hosts, ops):
    services.delete_inventory(actor=ops, inventory=shared_hosts)

    assert not Host.objects.exists()
    assert AuditEvent.objects.get(action="inventory.deleted").changes["host web-2"][1] is None


def test_renaming_an_inventory_templates_name_is_refused(targeted, ops):
    inventory = Inventory.objects.get(name="shared-hosts")

    with pytest.raises(InvalidRequest) as refused:
        services.update_inventory(actor=ops, inventory=inventory, name="elsewhere")

    assert "Fleet, Picker" in refused.value.errors["name"][0]


# The catalogue naming inventories


def test_a_sync_links_the_templates_to_the_inventories_they_name(targeted):
    assert targeted["fleet"].current_version is not None
    assert [i.name for i in targeted["fleet"].inventories.all()] == ["shared-hosts"]
    assert [i.name for i in targeted["picker"].inventories.all()] == ["shared-hosts"]


def test_a_template_naming_an_unknown_inventory_is_not_published(deploy_key):
    from catalog.models import Template
    from catalog.services import sync_catalog

    sync_catalog(directory=INVENTORY_CATALOG)

    fleet = Template.objects.get(slug="fleet")
    assert fleet.current_version is None
    assert {(e["field"], e["message"]) for e in fleet.errors} == {
        ("targets.inventory", "names inventory 'shared-hosts', which does not exist")
    }
    picker = Template.objects.get(slug="picker")
    assert {e["field"] for e in picker.errors} == {
        "inputs.properties.primary.x-gangplank-choices",
        "inputs.properties.replicas.x-gangplank-choices",
    }


def test_a_template_reaching_hosts_needs_one_ssh_credential(shared_hosts):
    from catalog.models import Template
    from catalog.services import sync_catalog
    from credentials.models import Credential

    Credential.objects.create(name="deploy-key", type="token")
    sync_catalog(directory=INVENTORY_CATALOG)

    fleet = Template.objects.get(slug="fleet")
    assert fleet.current_version is None
    assert [e["field"] for e in fleet.errors] == ["credentials"]
    assert "exactly one credential of type ssh; this one names 0" in fleet.errors[0]["message"]


@pytest.mark.parametrize(
    ("prop", "field", "message"),
    [
        ({"type": "array", "items": {"type": "string"}}, "type", "only for picking hosts"),
        (
            {
                "type": "array",
                "items": {"type": "integer"},
                "x-gangplank-choices": {"inventory": "i", "group": "g"},
            },
            "items",
            "host names",
        ),
        (
            {"type": "string", "x-gangplank-choices": {"inventory": "i"}},
            "x-gangplank-choices",
            "both strings",
        ),
        (
            {"type": "integer", "x-gangplank-choices": {"inventory": "i", "group": "g"}},
            "x-gangplank-choices",
            "not supported",
        ),
    ],
)
def test_the_manifest_checks_host_choices(prop, field, message):
    from catalog.schema import schema_problems

    problems = schema_problems({"type": "object", "properties": {"pick": prop}})

    assert any(f == f"properties.pick.{field}" and message in m for f, m in problems), problems


# Hosts picked in inputs


def test_a_picked_host_outside_the_group_is_a_field_error(targeted, teams, owner):
    from provisioning.services import request_service

    with pytest.raises(InvalidRequest) as refused:
        request_service(
            user=owner,
            template=targeted["picker"],
            team=teams["alpha"],
            name="p1",
            inputs={"primary": "db-1", "replicas": ["web-2", "nope"]},
        )

    assert refused.value.errors["inputs"] == {
        "primary": ["Not a host of group web in inventory shared-hosts."],
        "replicas": ["nope is not a host of group all in inventory shared-hosts."],
    }


def test_the_api_answers_a_400_for_a_host_that_is_not_in_the_group(targeted, teams, owner):
    response = api_client_for(owner).post(
        "/api/services/",
        {
            "template": "picker",
            "team": "alpha",
            "name": "p1",
            "inputs": {"primary": "ghost", "replicas": ["web-1", "web-1"]},
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["inputs"] == {
        "primary": ["Not a host of group web in inventory shared-hosts."],
        "replicas": ["Pick each one once."],
    }


def test_the_templates_api_shows_where_choices_and_targets_come_from(targeted, owner):
    api = api_client_for(owner)

    fleet = api.get("/api/templates/fleet/").json()
    picker = api.get("/api/templates/picker/").json()

    assert fleet["targets"] == {"inventory": "shared-hosts", "group": "web"}
    assert picker["inputs"]["properties"]["primary"]["x-gangplank-choices"] == {
        "inventory": "shared-hosts",
        "group": "web",
    }


# The hosts a run reaches


def test_a_run_reaches_every_host_of_the_targets_group(targeted):
    manifest = targeted["fleet"].current_version.manifest

    hosts = selectors.target_hosts(manifest=manifest, inputs={})

    assert [(h.name, h.groups) for h in hosts] == [
        ("web-1", ("web",)),
        ("web-2", ("web",)),
    ]
    assert hosts[0].address == "web-1.example.internal" and hosts[0].port == 22
    assert hosts[0].host_keys[0].startswith("ssh-ed25519 ")


def test_a_run_reaches_exactly_the_picked_hosts(targeted):
    manifest = targeted["picker"].current_version.manifest

    hosts = selectors.target_hosts(
        manifest=manifest, inputs={"primary": "web-2", "replicas": ["db-1", "web-2"]}
    )

    assert [(h.name, h.groups) for h in hosts] == [
        ("db-1", ("db",)),
        ("web-2", ("web",)),
    ]


def test_a_picked_host_deleted_since_the_request_fails_naming_it(targeted, ops):
    manifest = targeted["picker"].current_version.manifest
    services.remove_host(actor=ops, host=Host.objects.get(name="web-2"))

    with pytest.raises(selectors.TargetError, match="Host web-2 is no longer in group web"):
        selectors.target_hosts(manifest=manifest, inputs={"primary": "web-2"})


def test_an_empty_targets_group_fails_the_run(targeted, ops):
    manifest = targeted["fleet"].current_version.manifest
    for name in ("web-1", "web-2"):
        services.remove_host(actor=ops, host=Host.objects.get(name=name))

    with pytest.raises(selectors.TargetError, match="Group web of inventory shared-hosts"):
        selectors.target_hosts(manifest=manifest, inputs={})


def test_templates_that_reach_no_hosts_get_none(catalog):
    assert (
        selectors.target_hosts(
            manifest=catalog["echo"].current_version.manifest, inputs={"message": "hi"}
        )
        == []
    )


def test_an_unknown_ssh_credential_is_reported_once(shared_hosts):
    from catalog.models import Template
    from catalog.services import sync_catalog

    sync_catalog(directory=INVENTORY_CATALOG)  # fleet names deploy-key, which does not exist

    fleet = Template.objects.get(slug="fleet")
    assert [e["field"] for e in fleet.errors] == ["credentials"]
    assert "unknown credential 'deploy-key'" in fleet.errors[0]["message"]
