import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import Template
from core.filtersets import CheckboxWidget, FilterSet
from core.forms import BootstrapForm
from provisioning.models import Service
from provisioning.selectors import needing_attention
from provisioning.states import RunStatus, ServiceStatus
from teams.models import Team


class ServiceFilterSet(FilterSet):
    """Filters of the services list, shared by the portal and the API.

    Deprovisioned services are history: the list leaves them out unless asked for, with
    `include_deprovisioned` or by choosing that status."""

    team = django_filters.ModelChoiceFilter(
        field_name="team", to_field_name="slug", queryset=Team.objects.all()
    )
    template = django_filters.ModelChoiceFilter(
        field_name="template", to_field_name="slug", queryset=Template.objects.all()
    )
    status = django_filters.ChoiceFilter(choices=ServiceStatus.choices)
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    run_status = django_filters.MultipleChoiceFilter(
        field_name="last_run__status",
        choices=RunStatus.choices,
        label="Last run",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text="any of these statuses of the last run",
    )
    attention = django_filters.BooleanFilter(
        method="filter_attention",
        label="Needs attention",
        help_text="failed, drifted or expiring within 7 days; most urgent first",
    )
    include_deprovisioned = django_filters.BooleanFilter(
        method="filter_nothing",  # applied by `qs`, also when no filter is given at all
        label="Show deprovisioned",
        widget=CheckboxWidget(attrs={"class": "form-check-input"}),
        help_text="true: deprovisioned services are listed too (they are left out otherwise)",
    )

    class Meta:
        model = Service
        fields = ["team", "template", "status", "q", "run_status", "attention",
                  "include_deprovisioned"]  # fmt: skip
        form = BootstrapForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.request is None:  # schema generation
            return
        user = self.request.user
        self.filters["team"].queryset = Team.objects.restrict(user)
        self.filters["template"].queryset = Template.objects.restrict(user)

    @property
    def qs(self) -> QuerySet:
        if not hasattr(self, "_shown"):
            shown = super().qs
            if not self.shows_deprovisioned:
                shown = shown.exclude(status=ServiceStatus.DEPROVISIONED)
            self._shown = shown
        return self._shown

    @property
    def shows_deprovisioned(self) -> bool:
        if not self.is_bound or not self.form.is_valid():
            return False
        asked = self.form.cleaned_data
        return bool(asked.get("include_deprovisioned")) or (
            asked.get("status") == ServiceStatus.DEPROVISIONED
        )

    def filter_attention(self, queryset, name, value):
        return needing_attention(queryset, now=timezone.now()) if value else queryset

    def filter_nothing(self, queryset, name, value):
        return queryset
