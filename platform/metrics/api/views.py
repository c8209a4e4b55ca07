from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics import dora
from metrics.api.serializers import DoraSerializer
from metrics.forms import DoraFilterForm


class DoraView(APIView):
    """DORA metrics of the runs the caller may see, per week and over the window."""

    @extend_schema(
        parameters=[
            OpenApiParameter("team", OpenApiTypes.STR, description="a team's slug (all if empty)"),
            OpenApiParameter(
                "template", OpenApiTypes.STR, description="a template's slug (all if empty)"
            ),
            OpenApiParameter(
                "days",
                OpenApiTypes.INT,
                enum=list(dora.WINDOWS),
                description=f"the window in days (default {dora.DEFAULT_DAYS})",
            ),
        ],
        responses=DoraSerializer,
    )
    def get(self, request):
        form = DoraFilterForm(request.query_params, user=request.user)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)  # type: ignore[arg-type]  # a dict
        report = dora.dora(user=request.user, **form.cleaned_data)
        data = {
            "team": report.team,
            "template": report.template,
            "days": report.days,
            "total": report.total,
            "weeks": report.weeks,
            "definitions": dora.DEFINITIONS,
        }
        return Response(DoraSerializer(data).data)
