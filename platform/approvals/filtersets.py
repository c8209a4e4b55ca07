import django_filters

from approvals.models import Approval
from approvals.states import ApprovalStatus
from core.filtersets import FilterSet


class ApprovalFilterSet(FilterSet):
    status = django_filters.ChoiceFilter(choices=ApprovalStatus.choices)
    team = django_filters.CharFilter(field_name="service__team__slug", label="Team (slug)")

    class Meta:
        model = Approval
        fields = ["status", "team", "service"]
