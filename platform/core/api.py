from typing import TYPE_CHECKING, cast

from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.views import exception_handler as drf_exception_handler

from core import actions
from core.actions import Action
from core.errors import Conflict, InvalidRequest


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


NOT_AUTHENTICATED = (
    'Authentication credentials were not provided: send an API token as "Authorization: '
    'Token <key>" (or "Bearer <key>"), or log in.'
)


def exception_handler(exc, context):
    """DRF's handler, plus the services' errors: InvalidRequest is a 400 with its field
    errors, Conflict a 409; and a request without credentials is told how to send them."""
    if isinstance(exc, exceptions.NotAuthenticated):
        exc.detail = exceptions.ErrorDetail(NOT_AUTHENTICATED, code=exc.default_code)
    if isinstance(exc, InvalidRequest):
        exc = serializers.ValidationError(exc.errors)
    elif isinstance(exc, Conflict):
        exc = ConflictError(str(exc))
    return drf_exception_handler(exc, context)


if TYPE_CHECKING:
    _ViewSet = viewsets.GenericViewSet
else:
    _ViewSet = object


class RestrictedViewSetMixin(_ViewSet):
    """Every viewset's rows go through the policy once per request, in this one place, as
    NetBox's BaseViewSet.initial does.

    The action comes from the HTTP method (reading is "view", writing "change"), unless
    `permission_actions` names it for the route (deciding, managing). Before the handler
    runs, and so before the body is read, the rows as a whole are asked (platform engineers'
    alone, say), then the parent the request names (`get_parent`) and, on a detail route,
    the object are fetched for that action: one the user cannot see is a 404, one they see
    but may not act on a 403 with the policy's reason.
    """

    permission_actions: dict[str, Action] = {}  # viewset action -> policy action
    permission_action: Action = Action.VIEW
    parent: Model | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        named = self.permission_actions.get(self.action)
        self.permission_action = named or actions.for_method(request.method)
        if self.action in (None, "metadata"):  # a 405, or OPTIONS: nothing is read or written
            return
        rows = cast(actions.Restrictable, self.queryset)  # type: ignore[arg-type]
        refused = rows.model_refusal(request.user)  # the rows as a whole
        if refused is not None:
            raise PermissionDenied(refused)
        self.parent = self.get_parent()
        if self.detail:
            self.get_object()

    def get_parent(self) -> Model | None:
        """The object the request works under (a team in the URL or the body), checked for
        the request's action; None when there is none."""
        return None

    def get_queryset(self):
        rows = cast(actions.Restrictable, super().get_queryset())
        return rows.restrict(self.request.user, self.permission_action)

    def get_object(self):
        if not hasattr(self, "_permitted_object"):
            self._permitted_object = self._get_permitted_object()
        return self._permitted_object

    def _get_permitted_object(self):
        try:
            return super().get_object()
        except Http404:
            if self.permission_action == Action.VIEW:
                raise
        wanted, self.permission_action = self.permission_action, Action.VIEW
        try:
            seen = super().get_object()  # the 404 of one the user cannot see
        finally:
            self.permission_action = wanted
        raise PermissionDenied(self.get_queryset().refusal(self.request.user, wanted, seen))


class RestrictedReadOnlyViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass
