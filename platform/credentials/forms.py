from typing import cast

from django import forms

from core.errors import InvalidRequest
from core.forms import BootstrapForm
from credentials.models import Credential
from credentials.selectors import fields_of, plain_variables_of
from credentials.types import Kind

KEEP = "Leave blank to keep the stored value."


class CredentialForm(BootstrapForm):
    """A credential's fields, drawn from its type's row in credentials.types. Secret fields
    are never filled in: blank keeps what is stored."""

    name = forms.SlugField(
        max_length=100, help_text="Templates name it in their manifest; fixed once created."
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, kind: Kind, credential: Credential | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind, self.credential = kind, credential
        if credential is not None:
            del self.fields["name"]
            self.fields["description"].initial = credential.description
        if kind.variables:
            self._add_variables()
        for field in kind.fields:
            self.fields[field.name] = self._field_for(field)
        self.style_widgets()

    def _field_for(self, field) -> forms.Field:
        editing = self.credential is not None
        if field.multiline:
            widget: forms.Widget = forms.Textarea(attrs={"rows": 6, "spellcheck": "false"})
        elif field.secret:
            widget = forms.PasswordInput(render_value=False)
        else:
            widget = forms.TextInput()
        help_text = " ".join(filter(None, [field.help, KEEP if field.secret and editing else ""]))
        return forms.CharField(
            label=field.label,
            required=field.required and not (field.secret and editing),
            strip=not field.secret,
            widget=widget,
            help_text=help_text,
            initial=None
            if field.secret or not editing
            else cast(Credential, self.credential).values.get(field.name),
        )

    def _add_variables(self) -> None:
        editing = self.credential is not None
        lines, plain = [], []
        if editing:
            plain = plain_variables_of(cast(Credential, self.credential))
            for name, value in fields_of(cast(Credential, self.credential)).items():
                lines.append(f"{name}={value if name in plain else ''}")
        self.fields["variables"] = forms.CharField(
            widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
            initial="\n".join(lines),
            help_text="One NAME=value per line."
            + (" A secret variable left as NAME= keeps its value." if editing else ""),
        )
        self.fields["plain_variables"] = forms.CharField(
            required=False,
            initial=", ".join(plain),
            help_text="The variables that are not secret (a host, a port), comma-separated: "
            "they are shown here and not masked in runs. The others are secret.",
        )

    def clean_variables(self) -> dict[str, str]:
        variables = {}
        for number, line in enumerate(self.cleaned_data["variables"].splitlines(), start=1):
            if not line.strip():
                continue
            name, sign, value = line.partition("=")
            if not sign:
                raise forms.ValidationError(f"Line {number} is not NAME=value.")
            variables[name.strip()] = value
        return variables

    def payload(self) -> dict:
        """The keyword arguments of the services' create and update."""
        data = self.cleaned_data
        if self.kind.variables:
            fields = data["variables"]
            plain = [n.strip() for n in data.get("plain_variables", "").split(",") if n.strip()]
            extra = {"plain_variables": plain}
        else:
            fields = {field.name: data.get(field.name, "") for field in self.kind.fields}
            extra = {}
        return {"fields": fields, "description": data.get("description", ""), **extra}

    def add_refusal(self, refusal: InvalidRequest) -> None:
        """A service's refusal on the form: a field's messages on it (for env, variables'
        messages on the variables, each naming its variable)."""
        errors = dict(refusal.errors)
        by_field = cast(dict, errors.pop("fields", {}))
        for name, messages in by_field.items():
            if name in self.fields:
                self.add_error(name, messages)
            elif self.kind.variables:
                self.add_error("variables", [f"{name}: {m}" if name else m for m in messages])
            else:
                self.add_error(None, messages)
        super().add_refusal(InvalidRequest(errors))
