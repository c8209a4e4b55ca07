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
    assert authenticate(username="admin", password=password).is_superuser

    call_command("create_admin")
    assert password not in capsys.readouterr().out
