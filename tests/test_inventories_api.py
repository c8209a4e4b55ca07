"""Inventories over the API (/api/inventories/) and in the portal, for platform engineers."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from querycounts import budget
from test_inventories import (  # noqa: F401 (fixtures)
    INVENTORY_CATALOG,
    deploy_key,
    host,
    public_key,
    shared_hosts,
    targeted,
)

from audit.models import AuditEvent
from conftest import api_client_for
from inventories import services
from inventories.models import Inventory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops_api(ops):
    return api_client_for(ops)


def test_it_creates_an_inventory_with_its_hosts_and_reads_it_back(ops_api):
    body = {"name": "shared-hosts", "description": "Shared.", "hosts": [host("web-1")]}

    created = ops_api.post("/api/inventories/", body, format="json")

    assert created.status_code == 201, created.json()
    assert created.json()["hosts"] == body["hosts"]
    assert created.json()["templates"] == []
    read = ops_api.get("/api/inventories/shared-hosts/").json()
    assert read["hosts"][0]["host_key"] == body["hosts"][0]["host_key"]


def test_host_problems_come_back_as_nested_field_errors(ops_api):
    body = {"name": "lab", "hosts": [host("ok"), host("bad", port=0, groups=["all"])]}

    response = ops_api.post("/api/inventories/", body, format="json")

    assert response.status_code == 400
    errors = response.json()["hosts"]
    assert errors[0] == {}
    assert set(errors[1]) == {"port", "groups"}
    assert not Inventory.objects.exists()


def test_a_put_with_hosts_replaces_them_all(ops, ops_api):
    services.create_inventory(actor=ops, name="lab", hosts=[host("a"), host("b")])

    response = ops_api.put(
        "/api/inventories/lab/", {"hosts": [host("b", port=2200), host("c")]}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert [(h["name"], h["port"]) for h in response.json()["hosts"]] == [("b", 2200), ("c", 22)]
    assert AuditEvent.objects.filter(action="inventory.updated").count() == 1


def test_a_patch_without_hosts_keeps_them(ops, ops_api):
    services.create_inventory(actor=ops, name="lab", hosts=[host("a")])

    response = ops_api.patch("/api/inventories/lab/", {"description": "Lab."}, format="json")

    assert response.json()["description"] == "Lab."
    assert [h["name"] for h in response.json()["hosts"]] == ["a"]


def test_deleting_an_inventory_in_use_is_a_409_naming_the_templates(ops, ops_api):
    from catalog.services import sync_catalog
    from credentials.models import Credential

    services.create_inventory(actor=ops, name="shared-hosts", hosts=[host("web-1")])
    Credential.objects.create(name="deploy-key", type="ssh")
    sync_catalog(directory=INVENTORY_CATALOG)

    response = ops_api.delete("/api/inventories/shared-hosts/")

    assert response.status_code == 409
    assert "Fleet, Picker" in response.json()["detail"]
    assert ops_api.get("/api/inventories/shared-hosts/").json()["templates"] == ["Fleet", "Picker"]


def test_others_get_a_403_that_says_why(owner, auditor):
    for user in (owner, auditor):
        response = api_client_for(user).get("/api/inventories/")

        assert response.status_code == 403
        assert response.json()["detail"] == (
            "Only platform engineers keep inventories and their hosts."
        )


def add_inventories(ops, count, start):
    for n in range(start, start + count):
        services.create_inventory(
            actor=ops, name=f"inv-{n}", hosts=[host("a"), host("b", groups=["db"])]
        )


@pytest.mark.parametrize("path", ["/api/inventories/", "/inventories/"])
def test_the_inventory_lists_cost_a_constant_number_of_queries(ops, ops_api, client, path):
    from catalog.models import Template

    client.force_login(ops)
    fetch = ops_api.get if path.startswith("/api/") else client.get

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert fetch(path).status_code == 200
        return len(queries)

    add_inventories(ops, 5, 0)
    with_5 = count()
    add_inventories(ops, 20, 5)
    for n, inventory in enumerate(Inventory.objects.all()):
        template = Template.objects.create(slug=f"t-{n}", name=f"T {n}")
        template.inventories.add(inventory)
    with_25 = count()

    assert with_5 == with_25 <= budget(path)


def test_the_schema_documents_hosts_written_inside_their_inventory(client):
    schema = client.get("/api/schema/?format=json").json()

    request = schema["components"]["schemas"]["InventoryInputRequest"]["properties"]
    assert request["hosts"]["items"]["$ref"].endswith("/HostRequest")
    answer = schema["components"]["schemas"]["Inventory"]["properties"]
    assert answer["templates"]["items"]["type"] == "string"


# The portal


def test_the_portal_lists_inventories_and_shows_hosts(ops, client):
    services.create_inventory(actor=ops, name="lab", description="The lab.", hosts=[host("a")])
    client.force_login(ops)

    listing = client.get("/inventories/").content.decode()
    page = client.get("/inventories/lab/").content.decode()

    assert 'data-inventory="lab"' in listing
    assert 'data-host="a"' in page and "a.example.internal:22" in page


def test_the_host_form_shows_the_services_field_errors(ops, client):
    services.create_inventory(actor=ops, name="lab")
    client.force_login(ops)

    response = client.post(
        "/inventories/lab/hosts/new/",
        {"name": "a", "address": "10.0.0.1", "port": "22", "groups": "web, targets",
         "variables": '{"ansible_user": "root"}', "host_key": "ssh-ed25519 AAAA"},
    )  # fmt: skip

    assert response.status_code == 400
    page = response.content.decode()
    for field in ("groups", "variables", "host_key"):
        assert f'data-field-error="{field}"' in page
    assert not Inventory.objects.get(name="lab").hosts.exists()


def test_the_portal_edits_a_host_and_removes_it_after_confirming(ops, client):
    services.create_inventory(actor=ops, name="lab", hosts=[host("a")])
    client.force_login(ops)
    key = public_key()

    edited = client.post(
        "/inventories/lab/hosts/a/edit/",
        {"name": "a", "address": "10.0.0.2", "port": "2222", "groups": "web db",
         "variables": "", "host_key": key},
    )  # fmt: skip
    confirm = client.get("/inventories/lab/hosts/a/remove/")
    removed = client.post("/inventories/lab/hosts/a/remove/")

    assert edited.status_code == 302
    assert b"Delete host a of lab?" in confirm.content
    assert removed.status_code == 302
    changes = AuditEvent.objects.get(action="host.changed").changes
    assert changes["host a.groups"] == [["web"], ["web", "db"]]
    assert AuditEvent.objects.filter(action="host.removed").exists()


def test_the_portal_refuses_deleting_an_inventory_in_use(ops, client):
    from catalog.services import sync_catalog
    from credentials.models import Credential

    services.create_inventory(actor=ops, name="shared-hosts", hosts=[host("web-1")])
    Credential.objects.create(name="deploy-key", type="ssh")
    sync_catalog(directory=INVENTORY_CATALOG)
    client.force_login(ops)

    response = client.post("/inventories/shared-hosts/delete/")

    assert response.status_code == 409
    assert b"used by templates: Fleet, Picker" in response.content
    assert Inventory.objects.filter(name="shared-hosts").exists()


def test_the_nav_links_inventories_for_platform_engineers_only(ops, owner, client):
    client.force_login(owner)
    assert b'id="nav-inventories"' not in client.get("/").content
    client.force_login(ops)
    assert b'id="nav-inventories"' in client.get("/").content


# Hosts picked in the request form


@pytest.mark.usefixtures("targeted")
def test_the_request_form_offers_the_groups_hosts(client, owner):
    client.force_login(owner)

    page = client.get("/catalog/picker/").content.decode()

    primary = page.split('name="inputs-primary"')[1].split("</select>")[0]
    assert "web-1" in primary and "web-2" in primary and "db-1" not in primary
    assert page.count('type="checkbox" name="inputs-replicas"') == 3


@pytest.mark.usefixtures("targeted")
def test_the_request_form_refuses_a_host_that_is_not_offered(client, owner):
    client.force_login(owner)

    response = client.post(
        "/catalog/picker/", {"team": "alpha", "name": "p1", "inputs-primary": "db-1"}
    )

    assert response.status_code == 400
    assert b'data-field-error="inputs-primary"' in response.content


@pytest.mark.usefixtures("targeted")
def test_the_request_form_sends_the_picked_hosts(client, owner):
    from provisioning.models import Service

    client.force_login(owner)

    response = client.post(
        "/catalog/picker/",
        {"team": "alpha", "name": "p1", "inputs-primary": "web-1",
         "inputs-replicas": ["web-2", "db-1"]},
    )  # fmt: skip

    assert response.status_code == 302
    assert Service.objects.get(name="p1").inputs == {
        "primary": "web-1",
        "replicas": ["web-2", "db-1"],
    }


@pytest.mark.usefixtures("targeted")
def test_the_update_form_shows_the_picked_hosts_checked(client, owner, teams):
    from catalog.models import Template
    from provisioning.services import request_service

    picker = Template.objects.get(slug="picker")
    inputs = {"primary": "web-2", "replicas": ["db-1"]}
    service = request_service(
        user=owner, template=picker, team=teams["alpha"], name="p2", inputs=inputs
    )
    client.force_login(owner)

    page = client.get(f"/services/{service.pk}/update/").content.decode()

    assert 'value="web-2" selected' in page
    checked = [part for part in page.split("<input") if "checked" in part and "replicas" in part]
    assert len(checked) == 1 and 'value="db-1"' in checked[0]
