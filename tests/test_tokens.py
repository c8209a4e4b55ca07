"""Personal API tokens: named, optionally expiring, hashed, shown once, revocable; and
failed logins rate-limited."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def api_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_made_in_the_portal_is_shown_once_and_works(client, owner):
    client.force_login(owner)

    response = client.post("/tokens/", {"name": "ci-deploy"})

    html = response.content.decode()
    key = re.search(r'<code class="user-select-all">([^<]+)</code>', html).group(1)
    assert response["Cache-Control"] == "no-store"
    assert api_with(key).get("/api/teams/").status_code == 200
    later = client.get("/tokens/").content.decode()
    assert 'data-token="ci-deploy"' in later and key not in later


def test_tokens_are_stored_hashed(owner):
    from accounts.services import create_token

    token, key = create_token(user=owner, name="hashed")

    assert token.digest != key and key.startswith(token.token_key)
    with connection.cursor() as cursor:
        cursor.execute("select digest, token_key, name from accounts_apitoken")
        assert all(key not in value for row in cursor.fetchall() for value in row)


def test_a_revoked_or_expired_token_is_refused(client, owner):
    from accounts.services import create_token

    token, key = create_token(
        user=owner, name="short", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert api_with(key).get("/api/teams/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert api_with(key).get("/api/teams/").status_code == 401

    _, other = create_token(user=owner, name="revoked")
    client.force_login(owner)
    client.post("/tokens/revoke/", {"token_key": other[:15]})
    assert api_with(other).get("/api/teams/").status_code == 401


def test_a_token_is_taken_as_a_bearer_token_too_and_the_schema_says_so(owner):
    from accounts.services import create_token

    _, key = create_token(user=owner, name="bearer")

    def as_(header: str | None):
        client = APIClient()
        if header is not None:
            client.credentials(HTTP_AUTHORIZATION=header)
        return client.get("/api/teams/")

    assert as_(f"Bearer {key}").status_code == 200
    assert as_(f"bearer {key}").status_code == 200
    wrong = as_("Bearer not-a-token")
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "Invalid token."})
    spaced = as_(f"Bearer {key} extra")
    assert spaced.status_code == 401 and '"Token <key>"' in spaced.json()["detail"]
    missing = as_(None)
    assert missing.status_code == 401 and missing["WWW-Authenticate"] == "Token"
    assert 'send an API token as "Authorization: Token <key>"' in missing.json()["detail"]
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    document = reader.get("/api/schema/", {"format": "json"}).json()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": 'The same API token, sent as "Bearer <key>".',
    }
    assert document["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    operation = document["paths"]["/api/teams/"]["get"]
    assert {"tokenAuth": []} in operation["security"]
    assert {"bearerAuth": []} in operation["security"]


def test_a_user_revokes_only_their_own_tokens(client, owner, outsider):
    from accounts.services import create_token

    _, key = create_token(user=outsider, name="theirs")
    client.force_login(owner)
    client.post("/tokens/revoke/", {"token_key": key[:15]})
    assert api_with(key).get("/api/teams/").status_code == 200


def test_a_token_needs_a_name_and_a_future_expiry(client, owner):
    client.force_login(owner)

    assert client.post("/tokens/", {"name": ""}).status_code == 400
    response = client.post("/tokens/", {"name": "old", "expires_at": "2001-01-01T00:00"})
    assert response.status_code == 400 and "Must be in the future." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_command_prints_a_key_for_scripts(owner, capsys):
    call_command("create_api_token", "owner", "--name", "nightly")

    key = capsys.readouterr().out.strip()
    assert api_with(key).get("/api/teams/").status_code == 200
    assert ApiToken.objects.get().name == "nightly"


def test_failed_logins_are_rate_limited(client, owner, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/login/", {"username": "owner", "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": "owner", "password": "wrong"}).status_code == 429

    locked = client.post("/login/", {"username": "owner", "password": "pw-owner"})

    assert locked.status_code == 429
    assert 'id="locked-out"' in locked.content.decode()
