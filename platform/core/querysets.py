from django.db import models

from core import permissions


class RestrictedQuerySet(models.QuerySet):
    """A queryset that can be narrowed to what a user may do (see core.permissions)."""

    def restrict(self, user, action: str = permissions.VIEW) -> "RestrictedQuerySet":
        return permissions.restrict(self, user=user, action=action)
