"""A password change, wherever it is made (the portal, the admin, `manage.py changepassword`),
ends the user's other sessions and revokes all their API tokens; the session that made it
stays signed in."""

import getpass

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import create_token
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NEW = "a-new-long-passphrase-42"


def signed_in_through_the_form(username: str, password: str) -> Client:
    """A browser of its own, signed in through the login form."""
    client = Client()
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content[:300]
    return client


def api_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def is_signed_in(client: Client) -> bool:
    response = client.get("/")
    return response.status_code == 200


@pytest.fixture
def owners_other_session_and_tokens(owner):
    other = signed_in_through_the_form("owner", "pw-owner")
    keys = [create_token(user=owner, name=name)[1] for name in ("ci", "laptop")]
    assert is_signed_in(other)
    assert all(api_with(k).get("/api/teams/").status_code == 200 for k in keys)
    return other, keys


def assert_ended(other: Client, keys: list[str]) -> None:
    assert not is_signed_in(other), "the other session still works"
    assert all(api_with(k).get("/api/teams/").status_code == 401 for k in keys)
    assert not ApiToken.objects.exists()


def test_it_ends_other_sessions_and_tokens_when_a_user_changes_their_password(
    owner, owners_other_session_and_tokens
):
    other, keys = owners_other_session_and_tokens
    this = signed_in_through_the_form("owner", "pw-owner")

    response = this.post(
        "/password/", {"old_password": "pw-owner", "new_password1": NEW, "new_password2": NEW}
    )

    assert response.status_code == 302
    assert is_signed_in(this), "the session that changed the password was signed out"
    assert_ended(other, keys)
    assert signed_in_through_the_form("owner", NEW)
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.actor == "owner" and event.object_id == str(owner.pk)
    assert sorted(name.split(" ")[0] for name in event.changes["tokens"][0]) == ["ci", "laptop"]


def test_a_wrong_current_password_changes_nothing(owner, owners_other_session_and_tokens):
    other, _ = owners_other_session_and_tokens
    this = signed_in_through_the_form("owner", "pw-owner")

    response = this.post(
        "/password/", {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW}
    )

    assert response.status_code == 400
    assert 'data-field-error="old_password"' in response.content.decode()
    assert is_signed_in(other) and ApiToken.objects.count() == 2
    assert not AuditEvent.objects.filter(action="auth.password_changed").exists()


@pytest.fixture
def admin(django_user_model):
    """A superuser signed in to the admin through its login form."""
    django_user_model.objects.create_superuser("root", password="pw-root")
    return signed_in_through_the_form("root", "pw-root")


def test_an_admin_setting_a_password_ends_the_users_sessions_and_tokens(
    owner, owners_other_session_and_tokens, admin
):
    other, keys = owners_other_session_and_tokens

    response = admin.post(
        f"/admin/auth/user/{owner.pk}/password/",
        {"usable_password": "true", "password1": NEW, "password2": NEW},
    )

    assert response["Location"] == f"/admin/auth/user/{owner.pk}/change/"
    assert is_signed_in(admin)
    assert_ended(other, keys)
    assert signed_in_through_the_form("owner", NEW)
    assert AuditEvent.objects.get(action="auth.password_changed").actor == "root"


def test_an_admin_turning_password_login_off_also_ends_them(
    owner, owners_other_session_and_tokens, admin
):
    other, keys = owners_other_session_and_tokens

    response = admin.post(
        f"/admin/auth/user/{owner.pk}/password/",
        {"usable_password": "false", "unset-password": "Disable password-based authentication"},
    )

    assert response["Location"] == f"/admin/auth/user/{owner.pk}/change/"
    assert_ended(other, keys)
    owner.refresh_from_db()
    assert not owner.has_usable_password()


def test_the_admins_own_password_page_is_the_portals(client, django_user_model):
    django_user_model.objects.create_superuser("root", password="pw-root")
    client.force_login(django_user_model.objects.get(username="root"))

    response = client.get("/admin/password_change/")

    assert response.status_code == 302 and response["Location"] == "/password/"


def test_the_changepassword_command_ends_sessions_and_tokens(
    owner, owners_other_session_and_tokens, monkeypatch, capsys
):
    other, keys = owners_other_session_and_tokens
    # The command reads the password from the terminal; here, typed twice.
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": NEW)

    call_command("changepassword", "owner")

    assert "2 API token(s) revoked" in capsys.readouterr().out
    assert_ended(other, keys)
    assert signed_in_through_the_form("owner", NEW)
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.actor == "" and event.object_id == str(owner.pk)
