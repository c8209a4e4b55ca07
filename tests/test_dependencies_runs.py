"""Services that use services, run by the real worker: outputs flow along the edges, a
change marks (or updates) the services that use them, a cascade tears down leaves first."""

import pytest

from conftest import request_via_api, wait_for, wait_for_run
from provisioning.models import Run

pytestmark = pytest.mark.worker


def wait_status(api, service_id, status, *, check=lambda body: True):
    def reached():
        body = api.get(f"/api/services/{service_id}/").json()
        return body if body["status"] == status and check(body) else None

    return wait_for(reached, timeout=120, what=f"service {service_id} to be {status}")


def requested(api, template, name, inputs) -> dict:
    return wait_status(api, request_via_api(api, template, name, inputs)["id"], "active")


def test_outputs_reach_the_services_that_use_them_and_a_change_marks_or_updates_them(
    worker, catalog, api, client, owner
):
    db = requested(api, "provider", "orders-db", {"db_name": "orders"})
    app = requested(api, "consumer", "app", {"database": str(db["id"]), "label": "a"})
    auto = requested(api, "consumer-auto", "auto", {"database": str(db["id"]), "label": "b"})

    assert app["outputs"]["got_dsn"] == "postgres://db.example/orders"
    assert [u["id"] for u in app["uses"]] == [db["id"]]
    used_by = api.get(f"/api/services/{db['id']}/").json()["used_by"]
    assert sorted(u["name"] for u in used_by) == ["app", "auto"]

    run = api.post(f"/api/services/{db['id']}/update/", {"inputs": {"db_name": "moved"}},
                   format="json").json()  # fmt: skip
    assert wait_for_run(api, run["id"])["status"] == "succeeded"

    new_dsn = "postgres://db.example/moved"
    auto = wait_status(
        api, auto["id"], "active", check=lambda b: b["outputs"]["got_dsn"] == new_dsn
    )
    assert auto["dependency_changed"] is False
    auto_run = api.get(f"/api/runs/{auto['last_run']['id']}/").json()
    assert (auto_run["action"], auto_run["trigger"], auto_run["created_by"]) == (
        "update", "dependency", None
    )  # fmt: skip
    app = api.get(f"/api/services/{app['id']}/").json()
    assert app["dependency_changed"] is True
    assert app["outputs"]["got_dsn"] == "postgres://db.example/orders"  # not updated by itself

    client.force_login(owner)
    page = client.get(f"/services/{app['id']}/").content.decode()
    assert 'id="dependency-changed"' in page and f"/services/{app['id']}/refresh/" in page
    assert client.post(f"/services/{app['id']}/refresh/").status_code == 302

    app = wait_status(api, app["id"], "active", check=lambda b: b["outputs"]["got_dsn"] == new_dsn)
    assert app["dependency_changed"] is False
    assert app["inputs"] == {"database": str(db["id"]), "label": "a"}
    assert 'id="dependency-changed"' not in client.get(f"/services/{app['id']}/").content.decode()


def test_a_cascade_deprovisions_the_users_first_leaves_first_each_its_own_run(worker, catalog, api):
    root = requested(api, "provider", "root", {"db_name": "root"})
    middle = requested(api, "provider", "middle", {"db_name": "m", "upstream": str(root["id"])})
    leaf = requested(api, "consumer", "leaf", {"database": str(middle["id"]), "label": "l"})
    direct = requested(api, "consumer", "direct", {"database": str(root["id"]), "label": "d"})

    refused = api.post(f"/api/services/{root['id']}/deprovision/", {"confirm": "root"},
                       format="json")  # fmt: skip
    assert refused.status_code == 409
    assert "alpha/middle" in refused.json()["detail"] and "alpha/direct" in refused.json()["detail"]

    answer = api.post(f"/api/services/{root['id']}/deprovision/",
                      {"confirm": "root", "cascade": True}, format="json")  # fmt: skip

    assert answer.status_code == 202, answer.json()
    assert answer.json()["service"] in (leaf["id"], direct["id"])
    wait_status(api, root["id"], "deprovisioned")
    runs = {
        run.service.name: run
        for run in Run.objects.filter(action="deprovision").select_related("service")
    }
    assert set(runs) == {"root", "middle", "leaf", "direct"}
    assert all(r.status == "succeeded" and r.trigger == "cascade" for r in runs.values())
    assert runs["leaf"].finished_at <= runs["middle"].started_at
    assert runs["middle"].finished_at <= runs["root"].started_at
    assert runs["direct"].finished_at <= runs["root"].started_at
    for name in ("middle", "leaf", "direct"):
        assert api.get(f"/api/services/{runs[name].service_id}/").json()["status"] == (
            "deprovisioned"
        )


def test_a_cascade_stops_where_a_deprovision_fails(worker, catalog, api, client, owner):
    root = requested(api, "provider", "root", {"db_name": "root"})
    stuck = requested(api, "consumer", "stuck", {"database": str(root["id"]), "label": "fail:x"})

    answer = api.post(f"/api/services/{root['id']}/deprovision/",
                      {"confirm": "root", "cascade": True}, format="json")  # fmt: skip

    assert wait_for_run(api, answer.json()["id"])["status"] == "failed"
    assert api.get(f"/api/services/{stuck['id']}/").json()["status"] == "failed"
    root = api.get(f"/api/services/{root['id']}/").json()
    assert root["status"] == "active"
    assert not Run.objects.filter(service_id=root["id"], action="deprovision").exists()
    client.force_login(owner)
    page = client.get(f"/services/{root['id']}/").content.decode()
    assert "cascading deprovision stopped" in page and 'id="deprovision-pending"' not in page
