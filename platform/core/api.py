from rest_framework import serializers, viewsets
from rest_framework.views import exception_handler as drf_exception_handler

from core import permissions
from core.errors import InvalidRequest


def exception_handler(exc, context):
    """DRF's handler, plus a service's InvalidRequest as a 400 with its field errors."""
    if isinstance(exc, InvalidRequest):
        exc = serializers.ValidationError(exc.errors)
    return drf_exception_handler(exc, context)


class RestrictedViewSetMixin:
    """Every viewset's queryset goes through core.permissions, in this one place."""

    permission_action = permissions.VIEW

    def get_queryset(self):
        return permissions.restrict(
            super().get_queryset(), user=self.request.user, action=self.permission_action
        )


class RestrictedReadOnlyViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass
