from django import forms

from catalog.models import Template
from core.forms import BootstrapForm
from core.types import AnyUser
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
        empty_value=DEFAULT_DAYS,  # type: ignore[arg-type]  # coerced: an int
        initial=DEFAULT_DAYS,
        label="Window",
    )

    def __init__(self, data=None, *, user: AnyUser, **kwargs):
        if data is not None and not data.get("days"):
            # No window asked for is the default one, and the select must say so: bound to an
            # empty value it would show its first choice (7 days) over the default's figures.
            data = data.copy()
            data["days"] = str(DEFAULT_DAYS)
        super().__init__(data, **kwargs)
        self.fields["team"].queryset = Team.objects.restrict(user).order_by("name")  # type: ignore[attr-defined]
        self.fields["template"].queryset = Template.objects.restrict(user).order_by("name")  # type: ignore[attr-defined]
