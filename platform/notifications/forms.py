from django import forms

from core.forms import BootstrapForm
from notifications.models import Event


class DestinationForm(BootstrapForm):
    name = forms.CharField(max_length=100)
    url = forms.CharField(
        label="Apprise URL",
        max_length=2000,
        widget=forms.PasswordInput(render_value=True),
        help_text="slack://…, discord://…, mailto://…, mmost://…, workflows://…, or a webhook: "
        "json://, xml://, form://host/path, at a public address. It holds credentials: it is "
        "not shown again.",
    )
    events = forms.MultipleChoiceField(
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        initial=Event.values,
    )
