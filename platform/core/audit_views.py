from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action

from core import audit_export as exports
from core import permissions
from core.api import RestrictedReadOnlyViewSet
from core.filtersets import AuditEventFilterSet
from core.models import AuditEvent
from core.views import paginate


def _events(request: HttpRequest) -> AuditEventFilterSet:
    permissions.check_audit(request.user)
    events = AuditEvent.objects.restrict(request.user)
    return AuditEventFilterSet(request.GET or None, queryset=events, request=request)


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    filterset = _events(request)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": filterset, "page": paginate(request, filterset.qs, per_page=50),
               "query": query.urlencode()}  # fmt: skip
    return render(request, "core/audit.html", context)


@login_required
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    fmt = request.GET.get("as", "csv")
    if fmt not in exports.FORMATS:
        return HttpResponseBadRequest("as must be csv or jsonl")
    return exports.export(_events(request).qs, fmt)


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", *exports.FIELDS]
        read_only_fields = fields


class AuditEventViewSet(RestrictedReadOnlyViewSet):
    """The audit trail: every change of state, who made it, from where."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        permissions.check_audit(request.user)

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
