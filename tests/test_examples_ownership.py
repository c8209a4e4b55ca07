"""The example templates never hand one service's database or folder to another: two
services asking for the same name at once, one gets it and the other is refused; nothing
is dropped or removed by a service that does not own it. Real worker, real ansible-runner,
the suite's PostgreSQL."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from gate import Gate
from psycopg import sql
from test_runs_end_to_end import connection_dsn, run_directly

from conftest import api_client_for, request_via_api, wait_for_run
from provisioning.models import Service

pytestmark = pytest.mark.worker

REFUSED = "already exists on the server and is not managed by this service: choose another name."


@pytest.fixture
def gated_postgres(shared_postgres):
    """shared-postgres reached through a gate that lets the first two sessions through
    together: two runs then check what exists at the same moment."""
    from credentials.services import update_credential

    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)
    fields = {"PGHOST": "127.0.0.1", "PGUSER": db["USER"] or "postgres"}
    fields |= {"PGPASSWORD": db["PASSWORD"]} if db["PASSWORD"] else {}
    with Gate(upstream=(host, port), hold=2).running() as gate:
        update_credential(
            user=None, credential=shared_postgres, fields={**fields, "PGPORT": str(gate.port)}
        )
        yield gate


@pytest.fixture
def db_name():
    name = f"gp_race_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(connection_dsn("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def markers(db_name: str) -> tuple:
    """The role's and the database's settings (where the marker is), None when absent."""
    with psycopg.connect(connection_dsn("postgres")) as conn:
        return conn.execute(
            "SELECT (SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_roles r"
            "        ON r.oid = s.setrole WHERE r.rolname = %(n)s AND s.setdatabase = 0),"
            "       (SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d"
            "        ON d.oid = s.setdatabase WHERE d.datname = %(n)s AND s.setrole = 0)",
            {"n": db_name},
        ).fetchone()


def test_it_gives_a_database_name_asked_for_by_two_teams_at_once_to_one_of_them(
    worker, catalog, gated_postgres, api, outsider, db_name
):
    beta = api_client_for(outsider)
    asked = [
        (api, request_via_api(api, "postgres-database", "orders", {"db_name": db_name})),
        (beta, request_via_api(beta, "postgres-database", "orders", {"db_name": db_name}, "beta")),
    ]
    runs = [wait_for_run(client, service["last_run"]["id"]) for client, service in asked]

    assert sorted(run["status"] for run in runs) == ["failed", "succeeded"], runs
    won, lost = sorted(
        zip(asked, runs, strict=True), key=lambda pair: pair[1]["status"] == "failed"
    )
    (winner_client, winner), (loser_client, loser) = won[0], lost[0]
    assert f'A role named "{db_name}" {REFUSED}' in lost[1]["error"]
    assert winner_client.get(f"/api/services/{winner['id']}/").json()["status"] == "active"
    assert loser_client.get(f"/api/services/{loser['id']}/").json()["status"] == "failed"
    marker = f"gangplank.service_id={winner['id']}"
    role_settings, database_settings = markers(db_name)
    assert marker in role_settings and marker in database_settings

    # The loser's update is refused too: it takes nothing over.
    refused = run_directly(Service.objects.get(pk=loser["id"]), "update", connection_limit=3)
    assert not refused.ok and REFUSED in refused.error
    assert markers(db_name) == (role_settings, database_settings)

    # The loser's deprovision succeeds and leaves the winner's database alone.
    gone = loser_client.post(f"/api/services/{loser['id']}/deprovision/", {}, format="json")
    assert wait_for_run(loser_client, gone.json()["id"])["status"] == "succeeded"
    events = loser_client.get(f"/api/runs/{gone.json()['id']}/events/").json()["results"]
    said = [event["stdout"] for event in events if "Not dropping" in event["stdout"]]
    assert said and "the role and database" in said[0] and db_name in said[0]
    with psycopg.connect(
        winner_client.get(f"/api/services/{winner['id']}/").json()["outputs"]["dsn"]
    ) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (db_name,)

    gone = winner_client.post(f"/api/services/{winner['id']}/deprovision/", {}, format="json")
    assert wait_for_run(winner_client, gone.json()["id"])["status"] == "succeeded"
    assert markers(db_name) == (None, None)
    with psycopg.connect(connection_dsn("postgres")) as conn:
        assert not conn.execute("SELECT FROM pg_database WHERE datname = %s", [db_name]).fetchone()
        assert not conn.execute("SELECT FROM pg_roles WHERE rolname = %s", [db_name]).fetchone()


FOLDERS = {
    "static-site": ({"title": "Site"}, "sites", "index.html"),
    "dev-workspace": ({}, "workspaces", ".git"),
}


@pytest.mark.parametrize("template", sorted(FOLDERS))
def test_it_gives_a_folder_asked_for_by_two_services_at_once_to_one_of_them(
    transactional_db, own_queue, catalog, api, outsider, template
):
    inputs, kind, content = FOLDERS[template]
    beta = api_client_for(outsider)
    name = f"own-{uuid.uuid4().hex[:8]}"
    # Two requested services whose provision runs stay queued (no worker takes the test's
    # own queue): their playbooks are run directly below. Provisioning and deprovisioning
    # their own folders through the worker is test_runs_end_to_end's.
    asked = [
        request_via_api(api, template, name, inputs),
        request_via_api(beta, template, name, inputs, "beta"),
    ]
    services = [Service.objects.get(pk=service["id"]) for service in asked]
    # Both now ask for one folder: the same team and service name.
    same = {"team": f"contested-{uuid.uuid4().hex[:8]}", "service_name": "same"}
    path = Path(settings.RESOURCES_DIR) / kind / same["team"] / "same"
    barrier = threading.Barrier(len(services))

    def provision(service: Service):
        barrier.wait(timeout=10)
        try:
            return run_directly(service, "provision", gangplank=same)
        finally:
            connection.close()

    with ThreadPoolExecutor(len(services)) as pool:
        results = list(pool.map(provision, services))

    assert sorted(result.ok for result in results) == [False, True], [r.error for r in results]
    winner, loser = sorted(services, key=lambda service: not results[services.index(service)].ok)
    assert f"The folder {path} already exists and is not managed by this service" in (
        results[services.index(loser)].error
    )
    marker = f"gangplank service {winner.pk}\n"
    assert (path / ".gangplank-service").read_text() == marker

    refused = run_directly(loser, "update", gangplank=same)
    assert not refused.ok and "is not managed by this service" in refused.error
    assert run_directly(loser, "deprovision", gangplank=same).ok
    assert (path / ".gangplank-service").read_text() == marker and (path / content).exists()

    assert run_directly(winner, "deprovision", gangplank=same).ok
    assert not path.exists()
