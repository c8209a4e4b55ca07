"""The "App environment" example: a service that uses a PostgreSQL database service, with
custom actions and an input that another one reveals. Real worker, real ansible-runner, the
suite's PostgreSQL."""

import json
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from test_runs_end_to_end import connection_dsn, wait_until_settled

from conftest import request_via_api, wait_for_run
from testkit import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def db_name():
    name = f"gp_app_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(connection_dsn("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def request(api, inputs: dict, name: str = "shop"):
    body = {"template": "app-environment", "team": "alpha", "name": name, "inputs": inputs}
    return api.post("/api/services/", body, format="json")


def status_of(api, service_id: int) -> str:
    return api.get(f"/api/services/{service_id}/").json()["status"]


def test_an_app_environment_uses_its_database_runs_its_actions_and_goes_first(
    worker, catalog, api, db_name
):
    database = wait_until_settled(
        api, request_via_api(api, "postgres-database", "shop-db", {"db_name": db_name})["id"]
    )
    assert database["status"] == "active", database
    picked = str(database["id"])

    # Choices and dependent inputs are checked by the server, as the form does.
    not_a_database = request(api, {"database": "999999"})
    no_hostname = request(api, {"database": picked, "tls": True})
    assert not_a_database.status_code == 400 and "database" in not_a_database.json()["inputs"]
    assert no_hostname.status_code == 400
    assert list(no_hostname.json()["inputs"]) == ["hostname"]

    created = request(api, {"database": picked, "tls": True, "hostname": "shop.example.com"})
    assert created.status_code == 201, created.json()
    app = wait_until_settled(api, created.json()["id"])
    assert app["status"] == "active", app
    settings = Path(app["outputs"]["env_file"]).read_text()
    assert f"DATABASE_URL={json.dumps(database['outputs']['dsn'])}" in settings
    assert 'APP_URL="https://shop.example.com"' in settings
    assert [(u["input"], u["id"]) for u in app["uses"]] == [("database", database["id"])]
    used_by = api.get(f"/api/services/{database['id']}/").json()["used_by"]
    assert [u["id"] for u in used_by] == [app["id"]]
    assert {a["name"]: a["destructive"] for a in app["actions"]} == {
        "reset-data": True,
        "restart": False,
    }

    # A custom action with inputs: a run of its own, its inputs reaching the playbook.
    restart = api.post(
        f"/api/services/{app['id']}/actions/restart/",
        {"inputs": {"reason": "new settings"}},
        format="json",
    )
    assert restart.status_code == 202 and restart.json()["action"] == "restart"
    assert wait_for_run(api, restart.json()["id"])["status"] == "succeeded"
    status = json.loads((Path(app["outputs"]["data_dir"]).parent / "status.json").read_text())
    assert status["restarts"] == 1 and status["last_restart_reason"] == "new settings"
    assert api.get(f"/api/services/{app['id']}/").json()["outputs"]["restarts"] == 1

    # The destructive one empties the data folder.
    upload = Path(app["outputs"]["data_dir"]) / "upload.bin"
    upload.write_bytes(b"data")
    reset = api.post(f"/api/services/{app['id']}/actions/reset-data/", {}, format="json")
    assert reset.status_code == 202
    assert wait_for_run(api, reset.json()["id"])["status"] == "succeeded"
    assert not upload.exists() and upload.parent.is_dir()

    # The database cannot go while the app uses it; with cascade, the app goes first.
    refused = api.post(
        f"/api/services/{database['id']}/deprovision/", {"confirm": "shop-db"}, format="json"
    )
    assert refused.status_code == 409 and "shop" in refused.json()["detail"]
    cascade = api.post(
        f"/api/services/{database['id']}/deprovision/",
        {"confirm": "shop-db", "cascade": True},
        format="json",
    )
    assert cascade.status_code == 202, cascade.json()
    wait_for(
        lambda: status_of(api, database["id"]) == "deprovisioned",
        timeout=180,
        what="the database to be deprovisioned after its app",
    )
    runs = [
        api.get(f"/api/services/{service_id}/runs/").json()["results"][0]
        for service_id in (app["id"], database["id"])
    ]
    assert [run["action"] for run in runs] == ["deprovision", "deprovision"]
    assert runs[0]["finished_at"] <= runs[1]["started_at"]
    assert status_of(api, app["id"]) == "deprovisioned"
    assert not Path(app["outputs"]["env_file"]).parent.exists()
