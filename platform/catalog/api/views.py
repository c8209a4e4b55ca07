import django_filters

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
        Template.objects.filter(current_version__isnull=False)
        .select_related("current_version__source")
        .prefetch_related("credentials")
        .order_by("category", "name")
    )
    serializer_class = TemplateSerializer
    lookup_field = "slug"
    filterset_class = TemplateFilterSet
