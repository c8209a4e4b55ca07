from django import forms

from core import permissions
from core.forms import BootstrapFormMixin
from teams.models import Team


class ServiceRequestForm(BootstrapFormMixin, forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), to_field_name="slug")
    name = forms.CharField(
        max_length=63,
        help_text="Lowercase letters, digits and hyphens; unique within the team.",
        widget=forms.TextInput(attrs={"pattern": "[a-z][a-z0-9\\-]{1,62}", "autocomplete": "off"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.restrict(user, permissions.CHANGE)
        self.fields["team"].queryset = teams
        self.fields["team"].widget.attrs["required"] = True
        self.fields["name"].widget.attrs["required"] = True
        if len(teams) == 1:
            self.fields["team"].initial = teams[0].slug
