"""Who may do what: the one place that answers it, for the portal, the API and tasks alike.

Two questions, both default deny:
- `restrict(queryset, user=, action=)`: the rows of a queryset the user may act on;
- `can(user, action, obj)`: whether the user may act on one object (`check` raises a 403
  with the reason, `refusal` is that reason).

Actions (core.actions): "view" (see it), "change" (request services, run actions), "manage"
(a team's members and destinations) and "decide" (approve or reject a request: its
approvers, never its requester). Roles: a team's members view and change its services, its
admins also manage it; platform engineers view and change everything, curate the catalogue
and decide every request; auditors view everything and change nothing; superusers do
anything. A model takes part by declaring its `access` (teams.access.Access): how its rows
reach their owning team.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import F, Model, Q, QuerySet

from core.actions import Action
from teams.access import Access
from teams.roles import PlatformRole, TeamRole

VIEW, CHANGE, MANAGE, DECIDE = Action.VIEW, Action.CHANGE, Action.MANAGE, Action.DECIDE
PLATFORM, AUDITOR = PlatformRole.PLATFORM, PlatformRole.AUDITOR
NOBODY = Access()  # for a model that declares nothing: platform engineers only


def access_of(model: type[Model]) -> Access:
    access = getattr(model, "access", None)
    return access if isinstance(access, Access) else NOBODY


def global_role(user) -> str | None:
    """The user's role across teams (PLATFORM, AUDITOR or None); the row is read once per
    user object (Django keeps it, or its absence, on the user)."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return PLATFORM
    granted = getattr(user, "global_role", None)  # no row: RelatedObjectDoesNotExist
    return granted.role if granted is not None else None


def is_platform_engineer(user) -> bool:
    return global_role(user) == PLATFORM


def can_see_operations(user) -> bool:
    """Platform engineers and auditors see the platform's own state: the run queue, failure
    rates by template, pending approvals and broken templates."""
    return global_role(user) in (PLATFORM, AUDITOR)


def _rule(user, action: str, access: Access, model: type[Model]) -> Q | None:
    """A filter for what `user` may do on rows of `access`, or None for everything."""
    nothing = Q(pk__in=[])
    if action not in tuple(Action) or not user.is_authenticated or not user.is_active:
        return nothing
    role = global_role(user)
    if action == DECIDE:
        return _decide_rule(user, role, access)
    if role == PLATFORM:
        return None
    if access.everyone_views:
        if action != VIEW:
            return nothing
        return None if role == AUDITOR else _preview_rule(user, access.preview, model)
    if role == AUDITOR:
        return None if action == VIEW and access.team else nothing
    if not access.team or (action == MANAGE and not (access.managed or access.admins_only)):
        return nothing
    field = "pk" if access.team == "pk" else f"{access.team}_id"
    memberships = user.memberships.all()
    if action == MANAGE or access.admins_only:
        if action == CHANGE:
            return nothing
        memberships = memberships.filter(role=TeamRole.ADMIN)
    rule = Q(**{f"{field}__in": memberships.values("team_id")})
    if access.approver and action == VIEW:
        rule |= Q(**{f"{access.approver}_id__in": memberships.values("team_id")})
    return rule


def _preview_rule(user, lookup: str, model: type[Model]) -> Q | None:
    """Catalogue rows as their channel shows them (catalog.channels). `lookup` leads to the
    row's source; the template is the row itself or the one before the source. A template
    with a current version is everyone's; one with only a preview version is its audience's
    (members of a team its source lists); one with neither (broken, never loaded) shows when
    its source is a live one. A template of no source (its source deleted) is never taken
    for public on that ground. A version that is its template's preview is the audience's."""
    if not lookup:
        return None
    prefix = lookup.removesuffix("source")
    source: Any = model
    for name in lookup.split("__"):
        source = source._meta.get_field(name).related_model
    theirs = user.memberships.values("team_id")
    listed = source._default_manager.filter(teams__in=theirs).values("pk")
    audience = Q(**{f"{lookup}__in": listed})
    template = (
        Q(**{f"{prefix}current_version__isnull": False})
        | Q(**{f"{lookup}__preview": False, f"{prefix}preview_version__isnull": True})
        | audience
    )
    if not prefix:
        return template
    released = Q(**{f"{prefix}preview_version__isnull": True}) | ~Q(
        **{f"{prefix}preview_version": F("pk")}
    )
    return template & (released | audience)


def _decide_rule(user, role: str | None, access: Access) -> Q:
    if not access.approver or role == AUDITOR:
        return Q(pk__in=[])
    not_theirs = ~Q(**{f"{access.requester}_id": user.pk}) if access.requester else Q()
    if role == PLATFORM:
        return not_theirs
    return not_theirs & Q(**{f"{access.approver}_id__in": user.memberships.values("team_id")})


def restrict(queryset: QuerySet, *, user, action: str = VIEW) -> QuerySet:
    rule = _rule(user, action, access_of(queryset.model), queryset.model)
    return queryset if rule is None else queryset.filter(rule)


def can(user, action: str, obj: Model) -> bool:
    model = type(obj)
    return restrict(model._default_manager.filter(pk=obj.pk), user=user, action=action).exists()


def refusal(user, action: str, obj: Model) -> str:
    """Why `user` may not do `action` on `obj`: the reason its 403 gives."""
    access = access_of(type(obj))
    if global_role(user) == AUDITOR:
        return "Auditors can see everything but change nothing."
    if action == DECIDE:
        if access.requester and getattr(obj, f"{access.requester}_id", None) == user.pk:
            return "Nobody approves their own request."
        return "Only the request's approvers decide it."
    if action == MANAGE:
        return "Only the team's admins and platform engineers manage the team."
    return access.refusal


def check(user, action: str, obj: Model) -> None:
    """Raise PermissionDenied, with the reason, unless `user` may do `action` on `obj`."""
    if not can(user, action, obj):
        raise PermissionDenied(refusal(user, action, obj))


def model_refusal(user, model: type[Model]) -> str | None:
    """Why `user` may not work with `model` at all (list it, create one), or None. Rows of
    no team are platform engineers' alone; rows that only team admins read want a reader
    of them: a platform engineer, an auditor or some team's admin."""
    access = access_of(model)
    if access.platform_only and not is_platform_engineer(user):
        return access.refusal
    if access.admins_only and not _reads_admins_rows(user):
        return access.refusal
    return None


def check_model(user, model: type[Model]) -> None:
    """Raise PermissionDenied, with the reason, unless `user` may work with `model` at all."""
    refused = model_refusal(user, model)
    if refused is not None:
        raise PermissionDenied(refused)


def _reads_admins_rows(user) -> bool:
    if global_role(user) in (PLATFORM, AUDITOR):
        return True
    return bool(user.is_authenticated and user.memberships.filter(role=TeamRole.ADMIN).exists())


AUDIT_READERS = "The audit trail is for platform engineers, auditors and team admins."


def can_read_audit(user) -> bool:
    """Platform engineers and auditors read the whole trail, team admins their teams'."""
    return _reads_admins_rows(user)


def check_audit(user) -> None:
    """Raise PermissionDenied, with the reason, unless `user` may read the audit trail."""
    if not can_read_audit(user):
        raise PermissionDenied(AUDIT_READERS)
