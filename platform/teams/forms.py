from django import forms

from core.forms import BootstrapFormMixin
from teams.models import Membership


class MembershipForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class QuotaForm(BootstrapFormMixin, forms.Form):
    template: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All templates", to_field_name="slug"
    )
    max_services = forms.IntegerField(
        min_value=0, required=False, help_text="Leave empty to lift the limit."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from catalog.models import Template

        self.fields["template"].queryset = Template.objects.filter(current_version__isnull=False)  # type: ignore[attr-defined]
