"""Requests through the API, run by a real worker with real ansible-runner, on PostgreSQL."""

import json
import re
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from conftest import request_via_api, wait_for, wait_for_run
from core import secrets
from core.masking import MASK
from credentials.selectors import injection_for
from provisioning import runner
from provisioning.models import Run, RunEvent, Service
from provisioning.tasks import execute_run

pytestmark = pytest.mark.worker


def wait_until_settled(api, service_id, timeout=120):
    def settled():
        body = api.get(f"/api/services/{service_id}/").json()
        return body if body["status"] != "provisioning" else None

    return wait_for(settled, timeout=timeout, what=f"service {service_id} to settle")


def run_directly(
    service: Service, action: str, *, gangplank: dict | None = None, **changes
) -> runner.PlaybookResult:
    """Run one of the service's playbooks as the worker would, with changed inputs (and
    `gangplank` variables): the example catalogue's playbooks, checked on their own."""
    from provisioning.execution import extravars as _extravars

    run = service.last_run
    version = service.template_version
    variables = _extravars(run, secrets=secrets.decrypt(token=run.secrets))
    return runner.run_playbook(
        files=version.files,
        playbook=version.playbooks[action],
        extravars={
            **variables,
            **changes,
            "gangplank": {**variables["gangplank"], "action": action, **(gangplank or {})},
        },
        on_events=lambda events: None,
        data_root=settings.RUNS_DIR,
        injection=injection_for(names=version.manifest.get("credentials") or []),
        writable=[settings.RESOURCES_DIR],
    )


def test_it_provisions_a_postgres_database_that_answers(worker, catalog, api):
    """Through the shared-postgres credential, whose values reach the run but are not
    masked out of the DSN it reports."""
    db_name = f"gp_e2e_{uuid.uuid4().hex[:8]}"
    created = request_via_api(api, "postgres-database", "orders-db", {"db_name": db_name})
    assert created["status"] == "provisioning"
    assert created["last_run"]["id"]

    service = wait_until_settled(api, created["id"])

    assert service["status"] == "active", service
    dsn = service["outputs"]["dsn"]
    assert db_name in dsn and MASK not in dsn
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select current_database(), current_user").fetchone() == (
            db_name,
            db_name,
        )
    run = api.get(f"/api/runs/{created['last_run']['id']}/").json()
    assert run["status"] == "succeeded" and run["rc"] == 0
    assert run["outputs"]["dsn"] == dsn

    model = Service.objects.get(pk=created["id"])
    updated = run_directly(model, "update", connection_limit=7, description="orders")
    assert updated.ok, updated.error
    with psycopg.connect(connection_dsn("postgres")) as conn:
        limit = conn.execute(
            "select datconnlimit, shobj_description(oid, 'pg_database') from pg_database"
            " where datname = %s",
            [db_name],
        ).fetchone()
    assert limit == (7, "orders")

    gone = api.post(f"/api/services/{created['id']}/deprovision/", {}, format="json").json()
    assert wait_for_run(api, gone["id"])["status"] == "succeeded"
    with psycopg.connect(connection_dsn("postgres")) as conn:
        found = conn.execute("select 1 from pg_database where datname = %s", [db_name]).fetchone()
        role = conn.execute("select 1 from pg_roles where rolname = %s", [db_name]).fetchone()
    assert found is None and role is None


def connection_dsn(dbname: str) -> str:
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"host={host} port={port} user={db['USER']} dbname={dbname}"


def test_it_provisions_a_workspace_with_git_and_a_virtualenv(worker, catalog, api):
    created = request_via_api(api, "dev-workspace", "sandbox", {"description": "Try things"})
    service = wait_until_settled(api, created["id"])

    assert service["status"] == "active", service
    path = Path(service["outputs"]["path"])
    assert (path / ".git").is_dir()
    assert Path(service["outputs"]["python"]).exists()
    assert "Try things" in (path / "README.md").read_text()

    model = Service.objects.get(pk=created["id"])
    assert run_directly(model, "update", with_venv=False, description="Renamed").ok
    assert not (path / ".venv").exists() and "Renamed" in (path / "README.md").read_text()

    assert run_directly(model, "deprovision").ok
    assert not path.exists()


def test_it_provisions_a_static_site(worker, catalog, api):
    created = request_via_api(api, "static-site", "docs-site", {"title": "<b>Docs</b> & more"})
    service = wait_until_settled(api, created["id"])

    assert service["status"] == "active", service
    index = Path(service["outputs"]["path"]) / "index.html"
    assert "&lt;b&gt;Docs&lt;/b&gt; &amp; more" in index.read_text()

    model = Service.objects.get(pk=created["id"])
    assert run_directly(model, "update", title="Handbook", theme="dark").ok
    assert "Handbook" in index.read_text()
    assert json.loads((index.parent / "site.json").read_text())["theme"] == "dark"

    assert run_directly(model, "deprovision").ok
    assert not index.parent.exists()


def test_it_passes_inputs_as_data_never_evaluated(worker, catalog, api):
    literal = "{{ lookup('pipe', 'id') }}"
    created = request_via_api(api, "echo", "injection", {"message": literal})
    service = wait_until_settled(api, created["id"])

    assert service["status"] == "active", service
    assert service["outputs"]["echo"] == literal
    events = api.get(f"/api/runs/{created['last_run']['id']}/events/").json()["results"]
    assert any(literal in event["stdout"] for event in events)
    assert not any("uid=" in event["stdout"] for event in events)


def test_it_stores_what_a_playbook_prints_and_reports_even_nul(worker, catalog, api):
    created = request_via_api(api, "unstorable", "nul-printer", {})
    service = wait_until_settled(api, created["id"])

    assert service["status"] == "active", service
    assert service["outputs"] == {"raw": "value\ufffdend"}
    printed = RunEvent.objects.get(run_id=created["last_run"]["id"], event="runner_on_ok",
                                   task="Print NUL\ufffdhere")  # fmt: skip
    assert printed.data["res"]["stdout"] == "before\ufffdafter"


def test_a_failing_playbook_fails_the_run_and_the_service_with_its_message(worker, catalog, api):
    created = request_via_api(api, "failing", "doomed", {"reason": "disk on fire"})
    service = wait_until_settled(api, created["id"])

    assert service["status"] == "failed"
    run = api.get(f"/api/runs/{created['last_run']['id']}/").json()
    assert run["status"] == "failed"
    assert run["rc"] != 0
    assert "Provisioning failed on purpose: disk on fire" in run["error"]
    events = api.get(f"/api/runs/{created['last_run']['id']}/events/").json()["results"]
    assert any("Provisioning failed on purpose: disk on fire" in e["stdout"] for e in events)


def test_events_arrive_while_the_run_goes_on_in_order(worker, catalog, api):
    created = request_via_api(api, "slow", "slowpoke", {"steps": 4})
    run_id = created["last_run"]["id"]

    def some_events_while_running():
        run = api.get(f"/api/runs/{run_id}/").json()
        events = api.get(f"/api/runs/{run_id}/events/").json()["results"]
        return run["status"] == "running" and len(events) > 2

    wait_for(some_events_while_running, timeout=60, what="events of a running run")
    service = wait_until_settled(api, created["id"])
    assert service["status"] == "active"

    counters = [e["counter"] for e in api.get(f"/api/runs/{run_id}/events/").json()["results"]]
    assert counters == sorted(counters) == list(range(1, len(counters) + 1))
    later = api.get(f"/api/runs/{run_id}/events/?after={counters[-3]}").json()["results"]
    assert [e["counter"] for e in later] == counters[-2:]


def test_a_duplicate_message_does_not_run_twice(worker, catalog, api):
    created = request_via_api(api, "echo", "twice", {"message": "once"})
    run_id = created["last_run"]["id"]
    execute_run.delay(run_id)
    execute_run.delay(run_id)

    wait_until_settled(api, created["id"])
    # Three deliveries of this run (the request's and two more): one claims it, and the worker
    # says of each of the other two, by the run's id, that it did nothing.
    refused = re.compile(rf"\brun {run_id} is not queued any more\b".encode())

    def refusals() -> int:
        return len(refused.findall(worker["log"].read_bytes()))

    wait_for(lambda: refusals() >= 2, timeout=30, what=f"both duplicates of run {run_id} refused")
    run = Run.objects.get(pk=run_id)
    assert run.status == "succeeded"
    assert refusals() == 2
    starts = RunEvent.objects.filter(run=run, event="playbook_on_start").count()
    assert starts == 1
