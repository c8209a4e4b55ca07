from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action

from audit import export as exports
from audit.api.serializers import AuditEventSerializer
from audit.filtersets import AuditEventFilterSet
from audit.models import AuditEvent
from core.api import RestrictedReadOnlyViewSet


class AuditEventViewSet(RestrictedReadOnlyViewSet):
    """The audit trail: every change of state, who made it, from where."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet

    @extend_schema(
        filters=True,
        parameters=[
            OpenApiParameter(
                "as", OpenApiTypes.STR, enum=list(exports.FORMATS), description="default csv"
            )
        ],
        responses={(200, media): OpenApiTypes.STR for media in exports.FORMATS.values()},
    )
    @action(detail=False, pagination_class=None)
    def export(self, request):
        """The filtered trail as CSV (`?as=csv`) or JSON lines (`?as=jsonl`)."""
        fmt = request.query_params.get("as", "csv")
        if fmt not in exports.FORMATS:
            raise serializers.ValidationError({"as": ["Must be csv or jsonl."]})
        return exports.export(self.filter_queryset(self.get_queryset()), fmt)
