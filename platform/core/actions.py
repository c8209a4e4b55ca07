"""What a user may do to an object: the vocabulary every policy answers in, and the one way
views ask it.

Views take the action from the request's HTTP method (reading is "view", writing "change");
routes whose method does not tell (deciding a request, managing a team) name theirs. The
policy itself lives in the app that knows the roles: views reach it only through the rows'
queryset, which has `restrict(user, action)` and `refusal(user, action, obj)`.
"""

from enum import StrEnum
from typing import Any, Protocol, TypeVar, cast

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

from core.types import AnyUser

M = TypeVar("M", bound=Model)


class Restrictable(Protocol):
    """Rows whose model's policy can narrow them (teams.querysets.RestrictedQuerySet)."""

    model: Any

    def restrict(self, user: AnyUser, action: str) -> QuerySet: ...

    def refusal(self, user: AnyUser, action: str, obj: Model) -> str: ...

    def model_refusal(self, user: AnyUser) -> str | None: ...


class Action(StrEnum):
    VIEW = "view"  # see it
    CHANGE = "change"  # request services, run actions, write notes
    MANAGE = "manage"  # a team's members and destinations
    DECIDE = "decide"  # approve or reject a request


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def for_method(method: str) -> Action:
    """Reading is "view", anything else "change"."""
    return Action.VIEW if method.upper() in SAFE_METHODS else Action.CHANGE


def get_permitted(queryset: QuerySet[M], *, user: AnyUser, action: str, **lookup: Any) -> M:
    """The row `lookup` names, if `user` may do `action` to it.

    One they cannot see is a 404; one they see but may not act on a 403 with the policy's
    reason. `queryset` may already be narrowed to what the user sees: narrowing again only
    intersects. One query when allowed, a second only to tell a 403 from a 404.
    """
    rows = cast(Restrictable, queryset)
    if action == Action.VIEW:
        return get_object_or_404(rows.restrict(user, Action.VIEW), **lookup)
    try:
        return rows.restrict(user, action).get(**lookup)
    except rows.model.DoesNotExist:
        seen = get_object_or_404(rows.restrict(user, Action.VIEW), **lookup)
    raise PermissionDenied(rows.refusal(user, action, seen))


def refuse_if_seen(queryset: QuerySet, *, user: AnyUser, action: str, **lookup: Any) -> None:
    """A 403 with the policy's reason when `user` sees the row `lookup` names but may not do
    `action` to it. A row they cannot see (or that does not exist) is left to the caller's
    validation, as a field error of the body that names it."""
    if any(isinstance(value, str) and "\x00" in value for value in lookup.values()):
        return  # no row has it, and PostgreSQL takes no NUL: the validation says why
    rows = cast(Restrictable, queryset)
    seen = rows.restrict(user, Action.VIEW).filter(**lookup).first()
    if seen is not None and not rows.restrict(user, action).filter(pk=seen.pk).exists():
        raise PermissionDenied(rows.refusal(user, action, seen))
