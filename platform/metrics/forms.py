from django import forms

from catalog.models import Template
from core.forms import BootstrapForm
from metrics.dora import DEFAULT_DAYS, WINDOWS
from teams.models import Team


class DoraFilterForm(BootstrapForm):
    """What the DORA page and `/api/metrics/dora/` are asked for: one parsing for both."""

    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), to_field_name="slug", required=False, empty_label="All"
    )
    template = forms.ModelChoiceField(
        queryset=Template.objects.none(), to_field_name="slug", required=False, empty_label="All"
    )
    days = forms.TypedChoiceField(
        choices=[(days, f"{days} days") for days in WINDOWS],
        coerce=int,
        required=False,
        empty_value=DEFAULT_DAYS,
        initial=DEFAULT_DAYS,
        label="Window",
    )

    def __init__(self, data=None, *, user, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["team"].queryset = Team.objects.restrict(user).order_by("name")
        self.fields["template"].queryset = Template.objects.restrict(user).order_by("name")
