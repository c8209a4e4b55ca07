from datetime import UTC, datetime

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField

from core.forms import BootstrapForm
from core.models import AuditEvent


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC: PostgreSQL refuses offsets beyond 15:59, which Python
    accepts up to 23:59."""

    def to_python(self, value) -> datetime | None:
        value = super().to_python(value)
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class AuditEventFilterSet(django_filters.FilterSet):
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
    object_type = django_filters.CharFilter(help_text="e.g. provisioning.service")
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
        # The system's events are those recorded without a user (see core.audit.record).
        return queryset.filter(actor="") if value else queryset.exclude(actor="")
