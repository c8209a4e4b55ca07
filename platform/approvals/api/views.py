from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from approvals import services
from approvals.api.serializers import ApprovalSerializer, DecisionSerializer
from approvals.filtersets import ApprovalFilterSet
from approvals.models import Approval
from core.api import RestrictedReadOnlyViewSet


class ApprovalViewSet(RestrictedReadOnlyViewSet):
    """Requests waiting for (or decided by) an approver; `?status=pending` for the inbox."""

    queryset = Approval.objects.select_related(
        "run__template_version__template", "service__team", "requested_by", "decided_by"
    ).order_by("-created_at", "-pk")
    serializer_class = ApprovalSerializer
    filterset_class = ApprovalFilterSet

    def _decide(self, request, decide) -> Response:
        approval = self.get_object()  # one the user cannot see is a 404 first
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        approval = decide(user=request.user, approval=approval, **body.validated_data)
        return Response(ApprovalSerializer(approval).data)

    @extend_schema(request=DecisionSerializer, responses={200: ApprovalSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve: the run is queued. 409 when the request was decided meanwhile."""
        return self._decide(request, services.approve)

    @extend_schema(request=DecisionSerializer, responses={200: ApprovalSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject with a comment: the run is canceled and nothing runs."""
        return self._decide(request, services.reject)
