"""A real worker runs templates that reach hosts: the run's inventory holds exactly the
template's targets, or the hosts picked in its inputs, in group `targets` (the playbooks
report `groups['targets']` from localhost, so the hosts need not be reachable)."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from test_inventories import INVENTORY_CATALOG, host

from conftest import api_client_for, request_via_api, wait_for_run
from inventories import services
from inventories.models import Host

pytestmark = pytest.mark.worker


@pytest.fixture
def reachable(worker, ops, teams, owner):
    from catalog.services import sync_catalog
    from credentials.services import create_credential

    services.create_inventory(
        actor=ops,
        name="shared-hosts",
        hosts=[host("web-1"), host("web-2"), host("web-3", groups=["web", "edge"]),
               host("db-1", groups=["db"])],
    )  # fmt: skip
    key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()
    )
    create_credential(
        user=ops,
        name="deploy-key",
        type="ssh",
        fields={"username": "deploy", "private_key": key.decode()},
    )
    sync_catalog(directory=INVENTORY_CATALOG)
    return api_client_for(owner)


def test_a_runs_inventory_holds_exactly_the_targets_group(reachable):
    service = request_via_api(reachable, "fleet", "fleet-1", {})

    run = wait_for_run(reachable, service["last_run"]["id"])

    assert run["status"] == "succeeded", run["error"]
    assert run["outputs"]["targets"] == ["web-1", "web-2", "web-3"]


def test_a_runs_inventory_holds_exactly_the_picked_hosts(reachable):
    inputs = {"primary": "web-2", "replicas": ["db-1"]}
    service = request_via_api(reachable, "picker", "picked-1", inputs)

    run = wait_for_run(reachable, service["last_run"]["id"])

    assert run["status"] == "succeeded", run["error"]
    assert run["outputs"]["targets"] == ["db-1", "web-2"]


def test_a_picked_host_deleted_since_the_request_is_refused_then_fails_the_run(reachable, ops):
    service = request_via_api(reachable, "picker", "picked-2", {"primary": "web-1"})
    first = wait_for_run(reachable, service["last_run"]["id"])
    assert first["status"] == "succeeded", first["error"]
    services.remove_host(actor=ops, host=Host.objects.get(name="web-1"))

    update = reachable.post(f"/api/services/{service['id']}/update/", {"inputs": {}}, format="json")
    deprovision = reachable.post(f"/api/services/{service['id']}/deprovision/", {}, format="json")
    run = wait_for_run(reachable, deprovision.json()["id"])

    assert update.status_code == 400
    assert update.json()["inputs"]["primary"] == [
        "Not a host of group web in inventory shared-hosts."
    ]
    assert run["status"] == "failed"
    assert run["error"] == "Host web-1 is no longer in group web of inventory shared-hosts."
