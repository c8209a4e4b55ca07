"""Bad input is a clear refusal, never a 500: text PostgreSQL cannot store, bodies too large,
login names too long, in the API and in the portal."""

import json

import pytest
from django.test import Client

from audit.models import AuditEvent
from conftest import api_client_for
from factories import make_service
from inventories.models import Inventory
from provisioning.models import Service

pytestmark = pytest.mark.django_db

NUL, SURROGATE = "a\u0000b", "\ud800"
UNSTORABLE = "Must not contain NUL characters or unpaired surrogates."
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def post_json(client, url: str, body) -> tuple[int, dict]:
    """POST `body` as JSON text (a lone surrogate can only travel as a \\ud800 escape)."""
    response = client.generic(
        "POST", url, json.dumps(body, ensure_ascii=True), content_type="application/json"
    )
    return response.status_code, response.json()


def service_request(**changes) -> dict:
    return {"template": "echo", "team": "alpha", "name": "one", "inputs": {"hi": 1}} | changes


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_it_refuses_unstorable_text_anywhere_in_an_api_body_under_its_field(
    api, catalog, teams, owner, ops, bad
):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="e", user=owner)
    platform = api_client_for(ops)
    cases = [
        (api, "/api/services/", service_request(inputs={"message": bad}), ["inputs", "message"]),
        (api, "/api/services/", service_request(name=bad), ["name"]),
        (api, "/api/services/", service_request(team=bad), ["team"]),
        (api, f"/api/services/{service.pk}/update/", {"inputs": {"message": bad}}, ["inputs", "message"]),  # noqa: E501
        (api, f"/api/services/{service.pk}/preview/", {"inputs": {"message": bad}}, ["inputs", "message"]),  # noqa: E501
        (api, f"/api/services/{service.pk}/notes/", {"body": bad}, ["body"]),
        (platform, "/api/credentials/", {"name": "c", "type": "env", "fields": {"A": bad}}, ["fields", "A"]),  # noqa: E501
        (
            platform,
            "/api/inventories/",
            {"name": "inv", "hosts": [{"name": "h", "address": "127.0.0.1", "host_key": KEY,
                                       "variables": {"v": [1, bad]}}]},
            ["hosts", "0", "variables", "v", "1"],
        ),
    ]  # fmt: skip
    for client, url, body, where in cases:
        status, errors = post_json(client, url, body)
        assert status == 400, (url, errors)
        for key in where:
            errors = errors[key]
        assert errors == [UNSTORABLE], url
    assert not Service.objects.exclude(pk=service.pk).exists()
    assert service.runs.count() == 1
    assert not Inventory.objects.filter(name="inv").exists()


def test_it_refuses_an_unstorable_input_name_without_repeating_it(api, catalog, teams):
    status, errors = post_json(api, "/api/services/", service_request(inputs={SURROGATE: "x"}))

    assert status == 400
    assert errors == {
        "inputs": {"": ["Names must not contain NUL characters or unpaired surrogates."]}
    }


def test_it_refuses_a_number_beyond_what_json_can_store(api, catalog, teams):
    body = '{"template": "echo", "team": "alpha", "name": "big", "inputs": {"message": 1e400}}'
    response = api.generic("POST", "/api/services/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"inputs": {"message": ["Numbers must be finite."]}}


def test_it_refuses_nul_in_form_encoded_api_bodies_too(api, catalog, teams):
    response = api.post("/api/services/", {"template": "echo", "team": NUL, "name": "f"})

    assert response.status_code == 400
    assert response.json() == {"team": [UNSTORABLE]}


def test_an_address_holding_nul_is_a_400_not_a_lookup(api, catalog, teams, ops):
    client = Client()
    client.force_login(ops)

    for url in ("/api/templates/a%00b/", "/api/teams/a%00b/destinations/", "/api/services/?q=%00"):
        response = api.get(url)
        assert response.status_code == 400, url
        assert "NUL" in response.json()["detail"]
    for url in ("/inventories/inv/hosts/a%00b/edit/", "/audit/?actor=%00"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "must not contain NUL" in response.content.decode()


def test_an_oversized_api_body_is_a_json_413(api, catalog, teams):
    body = service_request(inputs={"message": "a" * 3_000_000})

    response = api.post("/api/services/", body, format="json")

    assert response.status_code == 413
    assert response.json() == {"detail": "The request is too large: at most 2.5 MB is accepted."}
    assert not Service.objects.exists()


def test_an_oversized_portal_form_is_a_readable_page(client, catalog, teams, owner):
    client.force_login(owner)

    response = client.post(
        "/catalog/echo/", {"team": "alpha", "name": "big", "inputs-message": "a" * 3_000_000}
    )

    assert response.status_code == 413
    assert "The request is too large: at most 2.5 MB is accepted." in response.content.decode()
    assert not Service.objects.exists()


def test_a_portal_form_refuses_json_text_holding_what_cannot_be_stored(client, ops):
    client.force_login(ops)
    client.post("/inventories/-/new/", {"name": "inv", "description": ""})
    host = {"name": "h", "address": "127.0.0.1", "port": "22", "groups": "", "host_key": KEY}

    for variables, message in (
        ('{"a": "\\u0000"}', UNSTORABLE),
        ('{"a": ["\\udfff"]}', UNSTORABLE),
        ('{"a": 1e400}', "Numbers must be finite."),
    ):
        response = client.post("/inventories/inv/hosts/new/", {**host, "variables": variables})
        assert response.status_code == 400
        assert message in response.context["form"].errors["variables"]
    assert not Inventory.objects.get().hosts.exists()


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
@pytest.mark.parametrize("username", ["a" * 256, "ops\u0000"], ids=["long", "nul"])
def test_the_login_forms_refuse_a_username_too_long_or_holding_nul(db, ops, path, username):
    client = Client()

    response = client.post(path, {"username": username, "password": "pw-ops"})

    assert response.status_code == 200
    assert response.context["form"].errors["username"], response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_a_refused_login_is_on_the_audit_trail_as_typed_but_storable(client, db):
    client.post("/login/", {"username": "eve\u0000", "password": "x"})
    page = client.post("/login/", {"username": "a" * 300, "password": "x"}).content.decode()

    labels = set(AuditEvent.objects.filter(action="auth.login_failed").values_list(
        "object_repr", flat=True))  # fmt: skip
    assert labels == {"eve\ufffd", "a" * 200}
    assert "Ensure this value has at most 150 characters" in page
    assert 'maxlength="150"' in page
