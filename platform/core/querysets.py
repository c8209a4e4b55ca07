from typing import cast

from django.db import models

from core import permissions
from core.types import AnyUser


class RestrictedQuerySet(models.QuerySet):
    """A queryset that can be narrowed to what a user may do (see core.permissions)."""

    def restrict(self, user: AnyUser, action: str = permissions.VIEW) -> "RestrictedQuerySet":
        return cast(RestrictedQuerySet, permissions.restrict(self, user=user, action=action))
