"""The portal's inventory and host forms: they only turn text into JSON values; the rules
are inventories.validation's, applied by the services."""

import json
import re

from django import forms

from core import text as core_text
from core.forms import BootstrapForm


class InventoryForm(BootstrapForm):
    name = forms.CharField(
        max_length=100,
        help_text="Lowercase letters, digits and hyphens; templates name the inventory by it.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "required": True}),
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class HostForm(BootstrapForm):
    name = forms.CharField(
        max_length=255,
        help_text="Letters, digits, '.', '-' and '_'.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "required": True}),
    )
    address = forms.CharField(
        max_length=255,
        help_text="A host name or an IP address.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "required": True}),
    )
    port = forms.IntegerField(initial=22, widget=forms.NumberInput(attrs={"min": 1, "max": 65535}))
    groups = forms.CharField(
        required=False,
        help_text="Group names separated by spaces or commas (not all, ungrouped or targets).",
    )
    variables = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text='A JSON object, e.g. {"ansible_python_interpreter": "/usr/bin/python3"}.',
    )
    host_key = forms.CharField(
        label="Host keys",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "required": True}),
        help_text="One public key a line, '<type> <base64>': ssh-keyscan's output without the "
        "host name. A run refuses a host that shows another key.",
    )

    def clean_groups(self) -> list[str]:
        return [group for group in re.split(r"[\s,]+", self.cleaned_data["groups"]) if group]

    def clean_variables(self):
        text = self.cleaned_data["variables"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        if problem := core_text.first_problem(value):
            raise forms.ValidationError(problem)
        return value

    @classmethod
    def initial_of(cls, host) -> dict:
        return {
            "name": host.name,
            "address": host.address,
            "port": host.port,
            "groups": " ".join(host.groups),
            "variables": json.dumps(host.variables, indent=2) if host.variables else "",
            "host_key": host.host_key,
        }
