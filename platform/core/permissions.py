"""Who may do what: the one place that answers it, for the portal, the API and tasks alike.

Two questions, both default deny:
- `restrict(queryset, user=, action=)`: the rows of a queryset the user may act on;
- `can(user, action, obj)`: whether the user may act on one object (`check` raises a 403
  with the reason).

Actions: "view" (see it), "change" (request services, run actions), "manage" (a team's
members) and "decide" (approve or reject a request: its approvers, never its requester).
Roles: a team's members view and change its services, its admins also manage it; platform
engineers view and change everything, curate the catalogue and decide every request;
auditors view everything and change nothing; superusers do anything. A model takes part by
naming the path from itself to its owning team in `TEAM_PATHS`; a model that is not listed
is visible to no one but superusers and platform engineers.
"""

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet

from core.types import AnyUser

VIEW = "view"
CHANGE = "change"
MANAGE = "manage"
DECIDE = "decide"
ACTIONS = frozenset({VIEW, CHANGE, MANAGE, DECIDE})
PLATFORM = "platform"
AUDITOR = "auditor"

# Model label -> lookup from that model to its owning team's primary key.
TEAM_PATHS: dict[str, str] = {
    "teams.team": "pk",
    "provisioning.service": "team",
    "provisioning.run": "service__team",
    "provisioning.runevent": "run__service__team",
    "provisioning.serviceevent": "service__team",
    "core.auditevent": "team",
    "approvals.approval": "service__team",
    "notifications.destination": "team",
    "notifications.delivery": "destination__team",
    "notes.servicenote": "service__team",
}
# Models that a second team also sees and decides: model label -> (lookup to the approving
# team, None meaning platform engineers; lookup to the requester, who never decides).
APPROVER_PATHS: dict[str, tuple[str, str]] = {
    "approvals.approval": ("approver_team", "requested_by"),
}
# Models whose team rows only the team's admins see (besides platform engineers, auditors).
ADMIN_ONLY_MODELS = frozenset({"core.auditevent"})

# Models every signed-in user may see, but only platform engineers may change.
CATALOG_MODELS = frozenset({"catalog.template", "catalog.templateversion"})
# Models that only platform engineers see and change, with the reason others are refused.
PLATFORM_MODELS: dict[str, str] = {
    "credentials.credential": "Only platform engineers manage credentials.",
    # Hosts, their addresses and keys are the platform's own.
    "inventories.inventory": "Only platform engineers keep inventories and their hosts.",
    "inventories.host": "Only platform engineers keep inventories and their hosts.",
}


def global_role(user: AnyUser) -> str | None:
    """The user's role across teams ("platform", "auditor" or None), read once per user."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return PLATFORM
    if not hasattr(user, "_gangplank_role"):
        from teams.models import GlobalRole

        role = GlobalRole.objects.filter(user=user).values_list("role", flat=True).first()
        user._gangplank_role = role  # type: ignore[attr-defined]
    return user._gangplank_role  # type: ignore[attr-defined]


def is_platform_engineer(user: AnyUser) -> bool:
    return global_role(user) == PLATFORM


def can_see_operations(user: AnyUser) -> bool:
    """Platform engineers and auditors see the platform's own state: the run queue, failure
    rates by template, pending approvals and broken templates."""
    return global_role(user) in (PLATFORM, AUDITOR)


def _rule(user: AnyUser, action: str, label: str) -> Q | None:
    """A filter for what `user` may do on `label`, or None for everything."""
    nothing = Q(pk__in=[])
    if action not in ACTIONS or not user.is_authenticated or not user.is_active:
        return nothing
    role = global_role(user)
    if action == DECIDE:
        return _decide_rule(user, role, label)
    if role == PLATFORM:
        return None
    if label in CATALOG_MODELS:
        return None if action == VIEW else nothing
    if role == AUDITOR:
        return None if action == VIEW and label in TEAM_PATHS else nothing
    path = TEAM_PATHS.get(label)
    if path is None or (action == MANAGE and label not in ("teams.team", *ADMIN_ONLY_MODELS)):
        return nothing
    field = "pk" if path == "pk" else f"{path}_id"
    memberships = user.memberships.all()
    if action == MANAGE or label in ADMIN_ONLY_MODELS:
        if action == CHANGE:
            return nothing
        memberships = memberships.filter(role="admin")
    rule = Q(**{f"{field}__in": memberships.values("team_id")})
    if label in APPROVER_PATHS and action == VIEW:
        rule |= Q(**{f"{APPROVER_PATHS[label][0]}_id__in": memberships.values("team_id")})
    return rule


def _decide_rule(user: User, role: str | None, label: str) -> Q:
    if label not in APPROVER_PATHS or role == AUDITOR:
        return Q(pk__in=[])
    team, requester = APPROVER_PATHS[label]
    not_theirs = ~Q(**{f"{requester}_id": user.pk})
    if role == PLATFORM:
        return not_theirs
    return not_theirs & Q(**{f"{team}_id__in": user.memberships.values("team_id")})


def restrict(queryset: QuerySet, *, user: AnyUser, action: str = VIEW) -> QuerySet:
    rule = _rule(user, action, queryset.model._meta.label_lower)
    return queryset if rule is None else queryset.filter(rule)


def can(user: AnyUser, action: str, obj: Model) -> bool:
    model = type(obj)
    return restrict(model._default_manager.filter(pk=obj.pk), user=user, action=action).exists()


def check(user: AnyUser, action: str, obj: Model) -> None:
    """Raise PermissionDenied, with the reason, unless `user` may do `action` on `obj`."""
    if can(user, action, obj):
        return
    if global_role(user) == AUDITOR:
        raise PermissionDenied("Auditors can see everything but change nothing.")
    if action == DECIDE:
        requester = APPROVER_PATHS.get(type(obj)._meta.label_lower, ("", ""))[1]
        if requester and getattr(obj, f"{requester}_id", None) == user.pk:
            raise PermissionDenied("Nobody approves their own request.")
        raise PermissionDenied("Only the request's approvers decide it.")
    if action == MANAGE:
        raise PermissionDenied("Only the team's admins and platform engineers manage the team.")
    if type(obj)._meta.label_lower in PLATFORM_MODELS:
        raise PermissionDenied(PLATFORM_MODELS[type(obj)._meta.label_lower])
    if type(obj)._meta.label_lower in CATALOG_MODELS:
        raise PermissionDenied("Only platform engineers curate the catalogue.")
    raise PermissionDenied("Only the owning team's members and platform engineers can do this.")


def check_model(user: AnyUser, model: type[Model]) -> None:
    """Raise PermissionDenied, with the reason, unless `user` may work with `model` at all
    (list it, create one): for the models of PLATFORM_MODELS, platform engineers only."""
    label = model._meta.label_lower
    if label in PLATFORM_MODELS and not is_platform_engineer(user):
        raise PermissionDenied(PLATFORM_MODELS[label])


def can_read_audit(user: AnyUser) -> bool:
    """Platform engineers and auditors read the whole trail, team admins their teams'."""
    if global_role(user) in (PLATFORM, AUDITOR):
        return True
    return bool(user.is_authenticated and user.memberships.filter(role="admin").exists())


def check_audit(user: AnyUser) -> None:
    """Raise PermissionDenied, with the reason, unless `user` may read the audit trail."""
    if not can_read_audit(user):
        raise PermissionDenied(
            "The audit trail is for platform engineers, auditors and team admins."
        )
