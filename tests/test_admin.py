"""Django's admin shows what the platform holds, and changes none of it: teams, memberships,
roles, quotas, the catalogue, services and runs change only through the apps' services,
which check the rules and put each change on the audit trail."""

import pytest

from audit.models import AuditEvent
from factories import make_service
from teams.models import GlobalRole, Membership, Quota, Team


@pytest.fixture
def root(client, django_user_model):
    """A superuser, signed in."""
    user = django_user_model.objects.create_superuser("root", password="pw-root")
    client.force_login(user)
    return client


def change_team_data(team: Team, membership: Membership, **changes) -> dict:
    """What the team's change form would post, with its inlines' management forms."""
    data = {
        "slug": team.slug,
        "name": team.name,
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-0-id": str(membership.pk),
        "memberships-0-team": str(team.pk),
        "memberships-0-user": str(membership.user_id),
        "memberships-0-role": membership.role,
        "quotas-TOTAL_FORMS": "0",
        "quotas-INITIAL_FORMS": "0",
        "_save": "Save",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
def test_it_shows_every_admin_page_to_a_superuser_without_a_save_button(
    root, catalog, teams, owner, ops
):
    alpha = teams["alpha"]
    Quota.objects.create(team=alpha, max_services=3)
    service = make_service(template=catalog["echo"], team=alpha, name="shown", user=owner)
    pages = [
        "/admin/teams/team/",
        f"/admin/teams/team/{alpha.pk}/change/",
        "/admin/teams/globalrole/",
        f"/admin/teams/globalrole/{GlobalRole.objects.get(user=ops).pk}/change/",
        "/admin/catalog/template/",
        f"/admin/catalog/template/{catalog['echo'].pk}/change/",
        "/admin/catalog/templateversion/",
        "/admin/catalog/catalogsync/",
        "/admin/provisioning/service/",
        f"/admin/provisioning/service/{service.pk}/change/",
        "/admin/provisioning/run/",
    ]

    for page in pages:
        response = root.get(page)
        assert response.status_code == 200, page
        assert 'name="_save"' not in response.content.decode(), page
    team_page = root.get(f"/admin/teams/team/{alpha.pk}/change/").content.decode()
    assert "owner" in team_page and "alpha: 3 services" in team_page  # members, quota


@pytest.mark.django_db
def test_a_superusers_post_to_the_team_page_cannot_change_a_membership_role(root, teams, owner):
    alpha = teams["alpha"]
    membership = Membership.objects.get(team=alpha, user=owner)
    events = AuditEvent.objects.count()

    response = root.post(
        f"/admin/teams/team/{alpha.pk}/change/",
        change_team_data(alpha, membership, **{"memberships-0-role": "admin", "name": "Renamed"}),
    )

    assert response.status_code == 403
    membership.refresh_from_db()
    alpha.refresh_from_db()
    assert (membership.role, alpha.name) == ("member", "Alpha")
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_nothing_is_added_or_deleted_through_the_admin(root, teams, owner, ops):
    alpha = teams["alpha"]
    role = GlobalRole.objects.get(user=ops)

    posts = {
        "/admin/teams/team/add/": {"slug": "gamma", "name": "Gamma"},
        f"/admin/teams/team/{alpha.pk}/delete/": {"post": "yes"},
        "/admin/teams/globalrole/add/": {"user": str(owner.pk), "role": "platform"},
        f"/admin/teams/globalrole/{role.pk}/change/": {"user": str(ops.pk), "role": "auditor"},
        f"/admin/teams/globalrole/{role.pk}/delete/": {"post": "yes"},
    }

    assert root.get("/admin/teams/team/add/").status_code == 403
    for path, data in posts.items():
        assert root.post(path, data).status_code == 403, path
    bulk = {"action": "delete_selected", "_selected_action": [str(alpha.pk)], "post": "yes"}
    root.post("/admin/teams/team/", bulk)  # the action is not offered: nothing happens
    assert not Team.objects.filter(slug="gamma").exists()
    assert Team.objects.filter(pk=alpha.pk).exists()
    assert list(GlobalRole.objects.values_list("user__username", "role")) == [("ops", "platform")]
    assert not GlobalRole.objects.filter(user=owner).exists()


@pytest.mark.django_db
def test_it_audits_a_change_of_a_users_flags_in_the_admin(root, owner):
    page = root.get(f"/admin/auth/user/{owner.pk}/change/")
    assert page.status_code == 200
    data = {
        "username": owner.username,
        "email": owner.email,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": owner.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": owner.date_joined.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    answer = root.post(f"/admin/auth/user/{owner.pk}/change/", data)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    owner.refresh_from_db()
    assert owner.is_staff
    event = AuditEvent.objects.get(action="user.changed")
    assert event.actor == "root"
    assert event.object_id == str(owner.pk)
    assert event.changes == {"is_staff": [False, True]}

    root.post(f"/admin/auth/user/{owner.pk}/change/", data)  # nothing changed: nothing recorded
    assert AuditEvent.objects.filter(action="user.changed").count() == 1
