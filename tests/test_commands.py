"""The management commands scripts and `make run` use."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from teams.models import Team

pytestmark = pytest.mark.django_db


def test_create_team_creates_a_team_with_members(owner, member, capsys):
    call_command("create_team", "platform", "--name", "Platform", "--member", "owner", "member")

    team = Team.objects.get(slug="platform")
    assert team.name == "Platform"
    assert set(team.members.values_list("username", flat=True)) == {"owner", "member"}
    assert "2 member(s)" in capsys.readouterr().out


def test_create_team_again_keeps_members_and_renames(owner):
    call_command("create_team", "platform", "--name", "Platform", "--member", "owner")
    call_command("create_team", "platform", "--name", "Platform team")

    team = Team.objects.get(slug="platform")
    assert team.name == "Platform team" and team.members.count() == 1


def test_create_team_names_unknown_users_and_writes_nothing(owner):
    with pytest.raises(CommandError, match="No such user: ghost"):
        call_command("create_team", "platform", "--name", "P", "--member", "owner", "ghost")
    assert not Team.objects.filter(slug="platform").exists()


def test_create_team_refuses_a_bad_slug():
    with pytest.raises(CommandError, match="Invalid slug"):
        call_command("create_team", "Not a slug", "--name", "P")


def test_create_admin_prints_the_password_once_and_keeps_it(settings, tmp_path, capsys):
    from django.contrib.auth import authenticate

    settings.DATA_DIR = tmp_path
    call_command("create_admin")
    first = capsys.readouterr().out
    password = (tmp_path / "admin-password").read_text().strip()
    assert password in first
    from django.test import RequestFactory

    request = RequestFactory().post("/login/")
    assert authenticate(request, username="admin", password=password).is_superuser

    call_command("create_admin")
    assert password not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["owner", "admin", "--team", "alpha"], "owner is now team admin of alpha."),
        (["owner", "member", "--team", "beta"], "owner is now member of beta."),
        (["owner", "platform"], "owner is now platform engineer."),
        (["owner", "auditor"], "owner is now auditor."),
    ],
)
def test_grant_gives_roles(owner, teams, capsys, args, says):
    call_command("grant", *args)
    assert capsys.readouterr().out.strip() == says


def test_grant_roles_take_effect(owner, teams):
    from teams import permissions

    call_command("grant", "owner", "admin", "--team", "alpha")
    assert permissions.can(owner, permissions.MANAGE, teams["alpha"])
    assert not permissions.can(owner, permissions.MANAGE, teams["beta"])
    call_command("grant", "owner", "auditor")
    owner = type(owner).objects.get(pk=owner.pk)  # the role is read once per user object
    assert permissions.can(owner, permissions.VIEW, teams["beta"])
    assert not permissions.can(owner, permissions.CHANGE, teams["beta"])


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["ghost", "member", "--team", "alpha"], "No such user: ghost."),
        (["owner", "member"], "needs an existing team"),
        (["owner", "admin", "--team", "nope"], "needs an existing team"),
        (["owner", "platform", "--team", "alpha"], "drop --team"),
        (["owner", "king"], "Unknown role 'king'"),
    ],
)
def test_grant_refuses_with_a_readable_message(owner, teams, args, error):
    with pytest.raises(CommandError, match=error):
        call_command("grant", *args)


UNSTORABLE = "Must not contain NUL characters or unpaired surrogates"
# What a command line holding bytes that are not UTF-8 gives Python (surrogateescape).
NOT_UTF8 = b"caf\xe9".decode("utf-8", "surrogateescape")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["create_team", "ok", "--name", "x" * 101], "Invalid --name: Ensure this value has at most 100"),  # noqa: E501
        (["create_team", "ok", "--name", "a\x00"], f"Invalid --name: {UNSTORABLE}"),
        (["create_team", "ok", "--name", NOT_UTF8], f"Invalid --name: {UNSTORABLE}"),
        (["create_team", "ok", "--name", "N", "--member", "a\x00"], f"Invalid --member: {UNSTORABLE}"),  # noqa: E501
        (["create_team", "s" * 51, "--name", "N"], "Invalid slug: Ensure this value has at most 50"),  # noqa: E501
        (["create_admin", "--username", "a" * 151], "Invalid --username: Ensure this value has at most 150"),  # noqa: E501
        (["create_admin", "--username", "../../etc/x"], "Invalid --username: Enter a valid username"),  # noqa: E501
        (["create_admin", "--username", "a\x00"], f"Invalid --username: {UNSTORABLE}"),
        (["grant", "a\x00", "member", "--team", "alpha"], f"Invalid username: {UNSTORABLE}"),
        (["grant", "owner", "member", "--team", NOT_UTF8], f"Invalid --team: {UNSTORABLE}"),
        (["create_api_token", "a\x00", "--name", "ci"], f"Invalid username: {UNSTORABLE}"),
        (["create_api_token", "owner", "--name", "x" * 101], "Invalid --name: Ensure this value has at most 100"),  # noqa: E501
        (["changepassword", "a\x00"], f"Invalid username: {UNSTORABLE}"),
        (["grant_runtime_role", NOT_UTF8], f"Invalid role: {UNSTORABLE}"),
        (["sync_catalog", "--dir", "/tmp/a\x00b"], "Cannot read the catalogue folder"),
        (["sync_catalog", "--dir", "/etc/hostname"], "Cannot read the catalogue folder"),
    ],
)  # fmt: skip
def test_commands_refuse_bad_arguments_with_a_readable_error(
    owner, teams, settings, tmp_path, args, says
):
    from django.contrib.auth import get_user_model

    settings.DATA_DIR = tmp_path
    users, team_count = get_user_model().objects.count(), Team.objects.count()

    with pytest.raises(CommandError) as caught:
        call_command(*args)

    assert str(caught.value).startswith(says), str(caught.value)
    assert (get_user_model().objects.count(), Team.objects.count()) == (users, team_count)
    assert not list(tmp_path.iterdir())


def test_create_local_credentials_refuses_a_url_that_is_not_one(monkeypatch):
    monkeypatch.setenv("GANGPLANK_POSTGRES_URL", "postgresql://[::1:5432/postgres")

    with pytest.raises(CommandError, match="GANGPLANK_POSTGRES_URL is not a URL"):
        call_command("create_local_credentials")


def test_sync_catalog_reports_text_it_cannot_store_as_a_problem(tmp_path, capsys):
    import shutil

    from conftest import TEST_CATALOG

    for slug in ("echo", "failing"):
        shutil.copytree(TEST_CATALOG / "echo", tmp_path / slug)
    with open(tmp_path / "echo" / "provision.yml", "a") as playbook:
        playbook.write("# \x00\n")
    manifest = tmp_path / "failing" / "template.yml"
    manifest.write_text(manifest.read_text().replace("name: Echo", 'name: "Ec\\0ho"'))
    (tmp_path / NOT_UTF8).mkdir()

    call_command("sync_catalog", "--dir", str(tmp_path))

    errors = capsys.readouterr().err
    assert "echo/provision.yml: holds NUL characters" in errors
    assert f"failing/template.yml: {UNSTORABLE}" in errors
    assert "folder name must be a slug" in errors
