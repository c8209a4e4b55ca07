from typing import cast

from django.db import models

from core.actions import Action
from core.types import AnyUser
from teams import permissions


class RestrictedQuerySet(models.QuerySet):
    """Rows that can be narrowed to what a user may do, and say why one is refused (see
    teams.permissions; the model declares its `access`)."""

    def restrict(self, user: AnyUser, action: str = Action.VIEW) -> "RestrictedQuerySet":
        return cast(RestrictedQuerySet, permissions.restrict(self, user=user, action=action))

    def refusal(self, user: AnyUser, action: str, obj: models.Model) -> str:
        """Why `user` may not do `action` on `obj`, one of these rows they see."""
        return permissions.refusal(user, action, obj)

    def model_refusal(self, user: AnyUser) -> str | None:
        """Why `user` may not work with these rows at all (list them, create one), or None."""
        return permissions.model_refusal(user, self.model)
