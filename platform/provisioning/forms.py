from datetime import UTC

from django import forms
from django.utils import timezone

from catalog.forms import InputsForm
from catalog.schema import secret_names
from core.forms import BootstrapFormMixin
from core.types import AnyUser
from provisioning.rules import NAME_MAX_LENGTH, NAME_PATTERN
from teams.models import Team
from teams.selectors import teams_to_request_for


class ServiceRequestForm(BootstrapFormMixin, forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), to_field_name="slug")
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH,
        help_text="Lowercase letters, digits and hyphens; unique within the team.",
        widget=forms.TextInput(attrs={"pattern": NAME_PATTERN, "autocomplete": "off"}),
    )

    def __init__(self, *args, user: AnyUser, **kwargs):
        super().__init__(*args, **kwargs)
        teams = teams_to_request_for(user=user)
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        self.fields["team"].widget.attrs["required"] = True
        self.fields["name"].widget.attrs["required"] = True
        if len(teams) == 1:
            self.fields["team"].initial = teams[0].slug

    def chosen_team(self) -> Team | None:
        """The team picked so far (posted, or the only one), for the inputs' choices."""
        slug = self.data.get("team") if self.is_bound else self.fields["team"].initial
        queryset = self.fields["team"].queryset  # type: ignore[attr-defined]
        return queryset.filter(slug=slug).first() if isinstance(slug, str) and slug else None


class ChangeInputsForm(InputsForm):
    """A service's inputs for an update or an upgrade, pre-filled with what it has.

    `locked` inputs (readOnly ones the service already has) are shown disabled and left out of
    `values()`, so that the service keeps them. A text input the service has and the user
    cleared is sent as "" (leaving it out would keep the old value); a secret left blank is
    left out, and so kept (its value is never shown to be cleared).
    """

    KEEP_HELP = "Leave blank to keep the current value."

    def __init__(self, *args, current: dict, locked=frozenset(), **kwargs):
        super().__init__(*args, locked=locked, **kwargs)
        self.current = current
        self.secrets = secret_names(self.schema)
        for name in (self.secrets & set(current) & set(self.fields)) - set(locked):
            field = self.fields[name]
            field.widget.attrs.pop("required", None)
            field.widget.attrs.pop("minlength", None)
            field.help_text = " ".join(filter(None, [str(field.help_text), self.KEEP_HELP]))

    def values(self) -> dict:
        values = super().values()
        for name, field in self.fields.items():
            if field.disabled:
                values.pop(name, None)
            elif name in self.secrets:
                continue
            elif self.cleaned_data.get(name) in ("", []) and name in self.current:
                values[name] = self.cleaned_data[name]
        return values


class DeprovisionForm(BootstrapFormMixin, forms.Form):
    # Not required here: deprovision_service checks it against the name, with its message.
    confirm = forms.CharField(
        required=False,
        label="Service name",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    cascade = forms.BooleanField(
        required=False, label="Deprovision the services that use it first, then it"
    )


class UTCDateTimeField(forms.DateTimeField):
    """A datetime-local value, read and shown in UTC whatever the active time zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]

    def to_python(self, value):
        with timezone.override(UTC):
            return super().to_python(value)

    def prepare_value(self, value):
        with timezone.override(UTC):
            return super().prepare_value(value)


class ExtendForm(BootstrapFormMixin, forms.Form):
    expires_at = UTCDateTimeField(label="New expiry (UTC)")
