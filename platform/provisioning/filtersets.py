import django_filters
from django.utils import timezone

from catalog.models import Template
from core.forms import BootstrapForm
from provisioning.models import Service
from provisioning.selectors import needing_attention
from provisioning.states import RunStatus, ServiceStatus
from teams.models import Team


class ServiceFilterSet(django_filters.FilterSet):
    """Filters of the services list, shared by the portal and the API."""

    team = django_filters.ModelChoiceFilter(
        field_name="team", to_field_name="slug", queryset=Team.objects.all()
    )
    template = django_filters.ModelChoiceFilter(
        field_name="template", to_field_name="slug", queryset=Template.objects.all()
    )
    status = django_filters.ChoiceFilter(choices=ServiceStatus.choices)
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    run_status = django_filters.MultipleChoiceFilter(
        field_name="last_run__status", choices=RunStatus.choices, label="Last run"
    )
    attention = django_filters.BooleanFilter(
        method="filter_attention",
        label="Needs attention",
        help_text="failed, drifted or expiring within 7 days; most urgent first",
    )

    class Meta:
        model = Service
        fields = ["team", "template", "status", "q", "run_status", "attention"]
        form = BootstrapForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.request is None:  # schema generation
            return
        user = self.request.user
        self.filters["team"].queryset = Team.objects.restrict(user)
        self.filters["template"].queryset = Template.objects.restrict(user)

    def filter_attention(self, queryset, name, value):
        return needing_attention(queryset, now=timezone.now()) if value else queryset
