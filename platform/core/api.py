from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.views import exception_handler as drf_exception_handler

from core import permissions
from core.errors import Conflict, InvalidRequest


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def exception_handler(exc, context):
    """DRF's handler, plus the services' errors: InvalidRequest is a 400 with its field
    errors, Conflict a 409."""
    if isinstance(exc, InvalidRequest):
        exc = serializers.ValidationError(exc.errors)
    elif isinstance(exc, Conflict):
        exc = ConflictError(str(exc))
    return drf_exception_handler(exc, context)


class RestrictedViewSetMixin:
    """Every viewset's queryset goes through core.permissions, in this one place."""

    permission_action = permissions.VIEW

    def get_queryset(self):
        return permissions.restrict(
            super().get_queryset(),  # type: ignore[misc]
            user=self.request.user,  # type: ignore[attr-defined]
            action=self.permission_action,
        )


class RestrictedReadOnlyViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass
