import django_filters
from django.db.models import Q

from catalog import channels
from catalog.api.serializers import TemplateSerializer
from catalog.models import Template
from core.api import RestrictedReadOnlyViewSet


class TemplateFilterSet(django_filters.FilterSet):
    retired = django_filters.BooleanFilter(
        field_name="retired_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = Template
        fields = ["category", "retired"]


class TemplateViewSet(RestrictedReadOnlyViewSet):
    """Templates of the catalogue that have loaded; request one with POST /api/services/."""

    queryset = (
        Template.objects.filter(Q(current_version__isnull=False) | Q(preview_version__isnull=False))
        .select_related("current_version__source")
        .prefetch_related("credentials")
        .order_by("category", "name")
    )
    serializer_class = TemplateSerializer
    lookup_field = "slug"
    filterset_class = TemplateFilterSet

    def get_queryset(self):
        # Whether the caller sees each template's preview version (one subquery, no more).
        return channels.with_preview_audience(super().get_queryset(), user=self.request.user)
