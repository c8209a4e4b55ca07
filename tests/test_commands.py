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
    from core import permissions

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
