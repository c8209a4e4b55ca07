"""Credentials reach runs: a real worker, real ansible-runner in its sandbox, PostgreSQL."""

import json
import uuid

import psycopg
import pytest

from conftest import request_via_api, wait_for_run
from core.secrets import MASK
from credentials import services

pytestmark = pytest.mark.worker

PASSWORD = "hunter2-credential-pw"
CONTENT = "token: file-secret-4242"


def test_it_gives_a_run_its_credentials_as_variables_and_a_file_masked(
    worker, catalog, catalog_dir, api, ops
):
    from catalog.services import sync_catalog

    services.create_credential(
        user=ops,
        name="ci-login",
        type="password",
        fields={"username": "ci-user", "password": PASSWORD},
    )
    services.create_credential(user=ops, name="ci-file", type="file", fields={"content": CONTENT})
    report = sync_catalog(directory=catalog_dir)  # the template names them: it loads now
    assert report.problems == [], report.problems

    created = request_via_api(api, "credentialed", "with-creds", {})
    run = wait_for_run(api, created["last_run"])

    assert run["status"] == "succeeded", run
    assert run["outputs"] == {
        "username": "ci-user",
        "password": MASK,
        "password_set": "True",
        "file_mode": "0600",
        "file_content": MASK,
    }
    events = api.get(f"/api/runs/{run['id']}/events/").json()
    printed = json.dumps(events)
    assert f"The password is {MASK}; the file says {MASK}" in printed
    assert PASSWORD not in printed and "file-secret-4242" not in printed
    service = api.get(f"/api/services/{created['id']}/").json()
    assert PASSWORD not in json.dumps(service) and "file-secret-4242" not in json.dumps(service)


def test_the_postgres_template_reaches_its_server_through_shared_postgres(worker, catalog, api):
    db_name = f"gp_cred_{uuid.uuid4().hex[:8]}"
    created = request_via_api(api, "postgres-database", "cred-db", {"db_name": db_name})
    run = wait_for_run(api, created["last_run"])

    assert run["status"] == "succeeded", run
    dsn = run["outputs"]["dsn"]
    assert MASK not in dsn
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select current_database()").fetchone() == (db_name,)
    gone = api.post(f"/api/services/{created['id']}/deprovision/", {}, format="json").json()
    assert wait_for_run(api, gone["id"])["status"] == "succeeded"


def test_a_run_whose_credential_is_gone_fails_naming_it(worker, catalog, catalog_dir, api, ops):
    from catalog.models import TemplateCredential
    from catalog.services import sync_catalog
    from credentials.models import Credential

    services.create_credential(user=ops, name="ci-login", type="token", fields={"token": "t"})
    services.create_credential(user=ops, name="ci-file", type="file", fields={"content": "x"})
    sync_catalog(directory=catalog_dir)
    # As when a later version no longer names it: the link goes, then the credential.
    TemplateCredential.objects.filter(credential__name="ci-file").delete()
    services.delete_credential(user=ops, credential=Credential.objects.get(name="ci-file"))

    created = request_via_api(api, "credentialed", "orphan", {})
    run = wait_for_run(api, created["last_run"])

    assert run["status"] == "failed"
    assert "The template uses the credential 'ci-file', which does not exist" in run["error"]
