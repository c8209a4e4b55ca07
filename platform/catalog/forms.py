"""A Django form built from a template's input schema: one widget per type.

The form only turns widget values into JSON values; the rules (pattern, lengths, bounds,
enum, format, required) are checked by catalog.schema.validate_inputs, as for the API.

A schema's `pattern` is not copied into the HTML `pattern` attribute: browsers compile that
with the `v` flag, which refuses much of what Python's `re` takes (`[A-Za-z0-9_-]`, say),
logs an error and drops the check. The server's check is the one that counts, and its
message says what is expected in words (catalog.schema.pattern_message).
"""

from django import forms

from catalog.schema import CHOICES, choice_kind, is_secret
from core.forms import BootstrapFormMixin
from inventories.selectors import choices as host_choices

FORMAT_INPUT_TYPES = {"email": "email", "uri": "url", "date": "date"}


def _field(name: str, prop: dict, required: bool) -> forms.Field:
    common = {
        "label": prop.get("title") or name,
        "help_text": prop.get("description", ""),
        "required": False,  # required-ness is the schema's to check, once
        "initial": prop.get("default"),
    }
    attrs: dict = {"required": True} if required else {}
    kind = prop["type"]
    if choice_kind(prop.get(CHOICES)) == "inventory":
        return _hosts_field(prop, required, common)
    if "enum" in prop:
        choices = [(value, str(value)) for value in prop["enum"]]
        if not required or "default" not in prop:
            choices = [("", "---------"), *choices]
        return forms.TypedChoiceField(
            choices=choices, coerce=_coercer(kind), empty_value=None, **common
        )
    if kind == "boolean":
        return forms.BooleanField(**common)
    if kind in ("integer", "number"):
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if key in prop:
                attrs[attr] = prop[key]
        if kind == "number":
            attrs["step"] = "any"
        widget: forms.widgets.Input = forms.NumberInput(attrs=attrs)
        return (forms.IntegerField if kind == "integer" else forms.FloatField)(
            widget=widget, **common
        )
    for key, attr in (("maxLength", "maxlength"), ("minLength", "minlength")):
        if key in prop:
            attrs[attr] = prop[key]
    if is_secret(prop):
        # Never rendered back into the page, not even after a refused submission.
        attrs["autocomplete"] = "new-password"
        widget = forms.PasswordInput(attrs=attrs, render_value=False)
        return forms.CharField(widget=widget, strip=False, **{**common, "initial": None})
    widget = forms.TextInput(attrs=attrs)
    widget.input_type = FORMAT_INPUT_TYPES.get(prop.get("format", ""), "text")
    return forms.CharField(widget=widget, strip=False, **common)


def _hosts_field(prop: dict, required: bool, common: dict) -> forms.Field:
    """A select of the group's hosts (string), or a checkbox per host (array)."""
    source = prop[CHOICES]
    names = [(name, name) for name in host_choices(**source)]
    common["help_text"] = common["help_text"] or (
        f"Hosts of group {source['group']} in inventory {source['inventory']}."
    )
    if prop["type"] == "array":
        widget: forms.Widget = forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
        return forms.MultipleChoiceField(choices=names, widget=widget, **common)
    widget = forms.Select(attrs={"required": True} if required else {})
    return forms.ChoiceField(choices=[("", "---------"), *names], widget=widget, **common)


def _coercer(kind: str):
    return {"integer": int, "number": float}.get(kind, str)


class InputsForm(BootstrapFormMixin, forms.Form):
    """The inputs of one template; `values()` gives the JSON object to validate."""

    def __init__(self, *args, schema: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema
        required = set(schema.get("required", []))
        for name, prop in (schema.get("properties") or {}).items():
            self.fields[name] = _field(name, prop, name in required)
        self.style_widgets()

    def values(self) -> dict:
        """Entered values; blank ones are left out so that defaults and `required` apply."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if value is not None and value != "" and value != []
        }
