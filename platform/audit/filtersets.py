import django_filters
from django.db.models import QuerySet

from audit.models import AuditEvent
from audit.objects import CHOICES
from core.filtersets import FilterSet, UTCDateTimeFilter
from core.forms import BootstrapForm


class AuditEventFilterSet(FilterSet):
    """Filters of the audit trail, shared by the portal and the API."""

    actor = django_filters.CharFilter(help_text="a username")
    system = django_filters.BooleanFilter(
        method="filter_system",
        label="By the system",
        help_text="true: only what no user did (beat, workers, failed logins); false: the rest",
    )
    action = django_filters.CharFilter(
        lookup_expr="startswith", help_text="e.g. run. or run.queued"
    )
    object_type = django_filters.ChoiceFilter(choices=CHOICES, label="Object type")
    object_id = django_filters.CharFilter()
    team = django_filters.CharFilter(help_text="a team's slug")
    since = UTCDateTimeFilter(field_name="at", lookup_expr="gte", label="Since (UTC)")
    until = UTCDateTimeFilter(field_name="at", lookup_expr="lt", label="Until (UTC)")

    class Meta:
        model = AuditEvent
        fields = ["actor", "system", "action", "object_type", "object_id", "team", "since",
                  "until"]  # fmt: skip
        form = BootstrapForm

    def filter_system(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        # The system's events are those recorded without a user (see audit.services.record).
        return queryset.filter(actor="") if value else queryset.exclude(actor="")
