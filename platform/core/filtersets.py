import django_filters

from core.forms import BootstrapForm
from core.models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    """Filters of the audit trail, shared by the portal and the API."""

    actor = django_filters.CharFilter(help_text="a username; empty for the system")
    action = django_filters.CharFilter(
        lookup_expr="startswith", help_text="e.g. run. or run.queued"
    )
    object_type = django_filters.CharFilter(help_text="e.g. provisioning.service")
    object_id = django_filters.CharFilter()
    team = django_filters.CharFilter(help_text="a team's slug")
    since = django_filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="gte", label="Since (UTC)"
    )
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt", label="Until (UTC)")

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "object_type", "object_id", "team", "since", "until"]
        form = BootstrapForm
