"""Team admins manage their team's members in the portal; nobody else does."""

import pytest

from audit.models import AuditEvent
from teams.models import Membership
from teams.services import create_team, grant_role

pytestmark = pytest.mark.django_db


def test_a_team_admin_adds_a_member_and_changes_a_role(client, team_admin, outsider, teams):
    client.force_login(team_admin)

    response = client.post("/teams/alpha/", {"username": "outsider", "role": "member"})
    assert response.status_code == 302
    assert Membership.objects.get(team=teams["alpha"], user=outsider).role == "member"

    client.post("/teams/alpha/", {"username": "outsider", "role": "admin"})
    assert Membership.objects.get(team=teams["alpha"], user=outsider).role == "admin"
    html = client.get("/teams/alpha/").content.decode()
    assert 'data-member="outsider"' in html and 'id="add-member"' in html


def test_a_team_admin_removes_a_member_but_keeps_one_admin(client, team_admin, owner, teams):
    client.force_login(team_admin)

    client.post("/teams/alpha/remove/", {"username": "owner"})
    assert not Membership.objects.filter(team=teams["alpha"], user=owner).exists()

    response = client.post("/teams/alpha/remove/", {"username": "teamadmin"}, follow=True)
    assert "keeps at least one admin" in response.content.decode()
    assert Membership.objects.filter(team=teams["alpha"], user=team_admin).exists()


def test_unknown_users_are_a_field_error(client, team_admin):
    client.force_login(team_admin)

    response = client.post("/teams/alpha/", {"username": "ghost", "role": "member"})

    assert response.status_code == 400
    assert "No such user: ghost." in response.content.decode()


def test_a_member_sees_the_team_but_cannot_manage_it(client, owner, outsider):
    client.force_login(owner)

    html = client.get("/teams/alpha/").content.decode()
    assert 'id="add-member"' not in html
    response = client.post("/teams/alpha/", {"username": "outsider", "role": "member"})
    assert response.status_code == 403
    assert client.get("/teams/beta/").status_code == 404


def test_platform_engineers_and_auditors_see_every_team(client, ops, auditor, teams):
    for user in (ops, auditor):
        client.force_login(user)
        html = client.get("/teams/").content.decode()
        assert "Alpha" in html and "Beta" in html


def test_it_records_a_rename_and_a_granted_role_only_when_they_change_with_the_old_value(
    owner, teams
):
    create_team(slug="platform", name="Platform")
    create_team(slug="platform", name="Platform")
    create_team(slug="platform", name="Platform team")
    grant_role(username="owner", role="member", team_slug="alpha")  # already a member
    grant_role(username="owner", role="admin", team_slug="alpha")
    grant_role(username="owner", role="admin", team_slug="alpha")
    grant_role(username="owner", role="member", team_slug="beta")
    grant_role(username="owner", role="auditor")
    grant_role(username="owner", role="auditor")
    grant_role(username="owner", role="platform")

    recorded = AuditEvent.objects.filter(
        action__in=["team.created", "team.renamed", "role.granted"]
    ).order_by("pk")
    assert [(e.action, e.team, e.changes) for e in recorded] == [
        ("team.created", "platform", {"name": [None, "Platform"]}),
        ("team.renamed", "platform", {"name": ["Platform", "Platform team"]}),
        ("role.granted", "alpha", {"owner": ["member", "admin"]}),
        ("role.granted", "beta", {"owner": [None, "member"]}),
        ("role.granted", "", {"owner": [None, "auditor"]}),
        ("role.granted", "", {"owner": ["auditor", "platform"]}),
    ]
    assert Membership.objects.get(team=teams["alpha"], user=owner).role == "admin"
