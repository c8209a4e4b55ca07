from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from approvals import selectors, services
from approvals.api.serializers import ApprovalSerializer, DecisionSerializer
from approvals.filtersets import ApprovalFilterSet
from approvals.models import Approval
from core.actions import Action
from core.api import RestrictedViewSetMixin
from core.schema import CONFLICT


class ApprovalViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Requests waiting for (or decided by) an approver; `?status=pending` for the inbox.

    Read through approvals.selectors, which asks teams.permissions, as the portal reads them.
    """

    queryset = Approval.objects.none()  # for the router and the schema; see get_queryset
    serializer_class = ApprovalSerializer
    filterset_class = ApprovalFilterSet
    permission_actions = {"approve": Action.DECIDE, "reject": Action.DECIDE}

    def get_queryset(self):
        # Read as the inbox reads them: `?status=pending` comes oldest deadline first.
        status = self.request.query_params.get("status") or None
        user, action = self.request.user, self.permission_action
        return selectors.approvals_for(user=user, status=status, action=action)

    def _decide(self, request, decide) -> Response:
        approval = self.get_object()  # a 404, then a 403, were answered before the body
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        approval = decide(user=request.user, approval=approval, **body.validated_data)
        return Response(ApprovalSerializer(approval).data)

    @extend_schema(request=DecisionSerializer, responses={200: ApprovalSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve: the run is queued. 409 when the request was decided meanwhile."""
        return self._decide(request, services.approve)

    @extend_schema(request=DecisionSerializer, responses={200: ApprovalSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject with a comment: the run is canceled and nothing runs."""
        return self._decide(request, services.reject)
