"""Who may do what: the one place that answers it, for the portal, the API and tasks alike.

Two questions, both default deny:
- `restrict(queryset, user=, action=)`: the rows of a queryset the user may act on;
- `can(user, action, obj)`: whether the user may act on one object.

Actions: "view" (see it) and "change" (request services, run actions). A model takes part by
naming the path from itself to its owning team in `TEAM_PATHS`; a model that is not listed
is visible to no one but superusers.
"""

from django.db.models import Model, Q, QuerySet

VIEW = "view"
CHANGE = "change"
ACTIONS = frozenset({VIEW, CHANGE})

# Model label -> lookup from that model to its owning team's primary key.
TEAM_PATHS: dict[str, str] = {
    "teams.team": "pk",
    "provisioning.service": "team",
    "provisioning.run": "service__team",
    "provisioning.runevent": "run__service__team",
    "provisioning.serviceevent": "service__team",
}

# Models every signed-in user may see, but only platform engineers may change.
CATALOG_MODELS = frozenset({"catalog.template", "catalog.templateversion"})


def is_platform_engineer(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or user.is_staff))


def _rule(user, action: str, label: str) -> Q | None:
    """A filter for what `user` may do on `label`, or None for everything."""
    if action not in ACTIONS or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return None
    if label in CATALOG_MODELS:
        return None if action == VIEW or user.is_staff else Q(pk__in=[])
    path = TEAM_PATHS.get(label)
    if path is None:
        return Q(pk__in=[])
    field = "pk" if path == "pk" else f"{path}_id"
    team_ids = user.memberships.values("team_id")
    return Q(**{f"{field}__in": team_ids})


def restrict(queryset: QuerySet, *, user, action: str = VIEW) -> QuerySet:
    rule = _rule(user, action, queryset.model._meta.label_lower)
    return queryset if rule is None else queryset.filter(rule)


def can(user, action: str, obj: Model) -> bool:
    model = type(obj)
    return restrict(model._default_manager.filter(pk=obj.pk), user=user, action=action).exists()
