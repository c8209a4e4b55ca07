from collections.abc import Collection

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit import services as audit
from catalog.models import Template
from core.errors import InvalidRequest
from core.types import AnyUser
from teams import permissions
from teams.models import GlobalRole, Membership, Quota, Team


@transaction.atomic
def create_team(*, slug: str, name: str, usernames: Collection[str] = ()) -> Team:
    """Create a team (or rename an existing one) and add the named users as members."""
    users = list(get_user_model().objects.filter(username__in=usernames))
    missing = sorted(set(usernames) - {user.username for user in users})
    if missing:
        raise InvalidRequest({"member": [f"No such user: {', '.join(missing)}."]})
    team, created = Team.objects.select_for_update().get_or_create(
        slug=slug, defaults={"name": name}
    )
    if created:
        audit.record(action="team.created", obj=team, team=team, changes={"name": [None, name]})
    elif team.name != name:
        before, team.name = team.name, name
        team.save(update_fields=["name"])
        audit.record(action="team.renamed", obj=team, team=team,
                     changes={"name": [before, name]})  # fmt: skip
    for user in users:
        _, added = Membership.objects.get_or_create(team=team, user=user)
        if added:
            audit.record(action="membership.added", obj=team, team=team,
                         changes={user.get_username(): [None, "member"]})  # fmt: skip
    return team


TEAM_ROLES = {"member": Membership.Role.MEMBER, "admin": Membership.Role.ADMIN}
GLOBAL_ROLES = {"platform": GlobalRole.Role.PLATFORM, "auditor": GlobalRole.Role.AUDITOR}


@transaction.atomic
def grant_role(*, username: str, role: str, team_slug: str | None = None) -> str:
    """Give a user a team role (member, admin) or a global one (platform, auditor)."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InvalidRequest({"username": [f"No such user: {username}."]})
    if role in TEAM_ROLES:
        team = Team.objects.filter(slug=team_slug).first() if team_slug else None
        if team is None:
            raise InvalidRequest({"team": [f"The {role} role needs an existing team (--team)."]})
        memberships = Membership.objects.filter(team=team, user=user)
        before = memberships.values_list("role", flat=True).first()
        if before != role:
            Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
            audit.record(action="role.granted", obj=team, team=team,
                         changes={username: [before, role]})  # fmt: skip
        return f"{username} is now {TEAM_ROLES[role].label.lower()} of {team.slug}."
    if role in GLOBAL_ROLES:
        if team_slug:
            raise InvalidRequest({"team": [f"The {role} role is for all teams; drop --team."]})
        before = GlobalRole.objects.filter(user=user).values_list("role", flat=True).first()
        if before != role:
            GlobalRole.objects.update_or_create(user=user, defaults={"role": role})
            audit.record(action="role.granted", obj=user, changes={username: [before, role]})
        return f"{username} is now {GLOBAL_ROLES[role].label.lower()}."
    choices = ", ".join([*TEAM_ROLES, *GLOBAL_ROLES])
    raise InvalidRequest({"role": [f"Unknown role {role!r}: use one of {choices}."]})


@transaction.atomic
def set_membership(*, actor: AnyUser, team: Team, username: str, role: str) -> Membership:
    """Add a user to a team, or change their role in it (team admins and platform engineers)."""
    permissions.check(actor, permissions.MANAGE, team)
    if role not in TEAM_ROLES:
        raise InvalidRequest({"role": ["Choose member or admin."]})
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise InvalidRequest({"username": [f"No such user: {username}."]})
    before = Membership.objects.filter(team=team, user=user).values_list("role", flat=True).first()
    membership, _ = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    audit.record(action="membership.set", actor=actor, obj=team, team=team,
                 changes={username: [before, role]})  # fmt: skip
    return membership


@transaction.atomic
def remove_membership(*, actor: AnyUser, team: Team, username: str) -> None:
    """Take a user out of a team; a team keeps at least one admin once it has had one."""
    permissions.check(actor, permissions.MANAGE, team)
    memberships = Membership.objects.select_for_update().filter(team=team)
    leaving = memberships.filter(user__username=username).first()
    if leaving is None:
        raise InvalidRequest({"username": [f"{username} is not in {team.slug}."]})
    admins = [m for m in memberships if m.role == Membership.Role.ADMIN]
    if leaving.role == Membership.Role.ADMIN and len(admins) == 1:
        raise InvalidRequest({"username": ["A team keeps at least one admin; name another first."]})
    leaving.delete()
    audit.record(action="membership.removed", actor=actor, obj=team, team=team,
                 changes={username: [leaving.role, None]})  # fmt: skip


@transaction.atomic
def set_quota(
    *, actor: AnyUser, team: Team, template: Template | None = None, max_services: int | None
) -> Quota | None:
    """Set (or, with None, lift) a team's limit of live services, in total or per template."""
    if not permissions.is_platform_engineer(actor):
        raise PermissionDenied("Only platform engineers set quotas.")
    scope = template.slug if template else "all templates"
    before = (
        Quota.objects.filter(team=team, template=template)
        .values_list("max_services", flat=True)
        .first()
    )
    audit.record(action="quota.set", actor=actor, obj=team, team=team,
                 changes={scope: [before, max_services]})  # fmt: skip
    if max_services is None:
        Quota.objects.filter(team=team, template=template).delete()
        return None
    quota, _ = Quota.objects.update_or_create(
        team=team, template=template, defaults={"max_services": max_services}
    )
    return quota
