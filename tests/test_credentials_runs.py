"""Credentials reach runs: a real worker, real ansible-runner in its sandbox, PostgreSQL."""

import json

import pytest

from conftest import CI_FILE, CI_PASSWORD, request_via_api, wait_for_run
from core.masking import MASK
from credentials import services

pytestmark = pytest.mark.worker


def test_it_gives_a_run_its_credentials_as_variables_and_a_file_masked(worker, catalog, api):
    created = request_via_api(api, "credentialed", "with-creds", {})
    run = wait_for_run(api, created["last_run"]["id"])

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
    assert CI_PASSWORD not in printed and CI_FILE not in printed
    service = api.get(f"/api/services/{created['id']}/").json()
    assert CI_PASSWORD not in json.dumps(service) and CI_FILE not in json.dumps(service)


def test_a_run_whose_credential_is_gone_fails_naming_it(worker, catalog, api, ops):
    from catalog.models import TemplateCredential
    from credentials.models import Credential

    # As when a later version no longer names it: the link goes, then the credential.
    TemplateCredential.objects.filter(credential__name="ci-file").delete()
    services.delete_credential(user=ops, credential=Credential.objects.get(name="ci-file"))

    created = request_via_api(api, "credentialed", "orphan", {})
    run = wait_for_run(api, created["last_run"]["id"])

    assert run["status"] == "failed"
    assert "The template uses the credential 'ci-file', which does not exist" in run["error"]
