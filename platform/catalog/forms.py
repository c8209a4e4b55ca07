"""A Django form built from a template's input schema: one widget per type.

The form only turns widget values into JSON values; the rules (pattern, lengths, bounds,
enum, format, required) are checked by catalog.schema.validate_inputs, as for the API.

A schema's `pattern` is not copied into the HTML `pattern` attribute: browsers compile that
with the `v` flag, which refuses much of what Python's `re` takes (`[A-Za-z0-9_-]`, say),
logs an error and drops the check. The server's check is the one that counts, and its
message says what is expected in words (catalog.schema.pattern_message).

Inputs that depend on others (catalog.conditions) follow the form's values: the conditional
ones no branch applies to are hidden and disabled (browsers do not post them), and the
required marks follow. Changing a driver (`refreshes`) posts the page again with REFRESH,
and the page answers with its form re-rendered for those values (`unchecked`: nothing saved,
no errors shown); htmx swaps in its inputs (templates/catalog/_input_fields.html). Without
JavaScript the next submission shows what follows, and the server's check is what counts.
"""

from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict

from catalog import conditions
from catalog.choice_lists import Choices
from catalog.choice_specs import CHOICES, choice_kind, choice_sources
from catalog.schema import is_secret, with_defaults
from core.forms import BootstrapFormMixin
from inventories.selectors import choices as host_choices

FORMAT_INPUT_TYPES = {"email": "email", "uri": "url", "date": "date"}


def _field(name: str, prop: dict, required: bool, listed: Choices | None) -> forms.Field:
    common = {
        "label": prop.get("title") or name,
        "help_text": prop.get("description", ""),
        "required": False,  # required-ness is the schema's to check, once
        "initial": prop.get("default"),
    }
    attrs: dict = {"required": True} if required else {}
    kind = prop["type"]
    kind_of_choices = choice_kind(prop.get(CHOICES))
    if kind_of_choices == "inventory":
        return _hosts_field(prop, required, common, listed)
    if kind_of_choices is not None:
        return _choices_field(prop, required, common, listed or Choices())
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


def _hosts_field(prop: dict, required: bool, common: dict, choices: Choices | None) -> forms.Field:
    """A select of the group's hosts (string), or a checkbox per host (array)."""
    source = prop[CHOICES]
    if choices is None:
        choices = Choices(options=[(name, name) for name in host_choices(**source)])
    names = choices.options
    common["help_text"] = common["help_text"] or (
        f"Hosts of group {source['group']} in inventory {source['inventory']}."
    )
    if prop["type"] == "array":
        widget: forms.Widget = forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
        return forms.MultipleChoiceField(choices=names, widget=widget, **common)
    widget = forms.Select(attrs={"required": True} if required else {})
    return forms.ChoiceField(choices=[("", "---------"), *names], widget=widget, **common)


def _choices_field(prop: dict, required: bool, common: dict, choices: Choices) -> forms.Field:
    """A select of the input's choices (another service, an item of a fetched list); why
    they may be stale or missing is the field's help."""
    source = prop[CHOICES]
    if not common["help_text"] and choice_kind(source) == "services":
        common["help_text"] = f"One of the team's active {source['services']['template']} services."
    elif not common["help_text"]:
        common["help_text"] = f"Listed by {urlsplit(source['url']).hostname}."
    if choices.problem:
        common["help_text"] = " ".join(filter(None, [choices.problem, common["help_text"]]))
    widget = forms.Select(attrs={"required": True} if required else {})
    return _CheckedElsewhere(choices=[("", "---------"), *choices.options], widget=widget, **common)


class _CheckedElsewhere(forms.ChoiceField):
    """A select whose value is checked against its choices by the validation every request
    goes through (provisioning.choices), with the same message in the portal as in the API."""

    def valid_value(self, value) -> bool:
        return True


def _coercer(kind: str):
    return {"integer": int, "number": float}.get(kind, str)


# The parameter of a refresh, and the container it re-renders.
REFRESH = "_refresh"
INPUTS_CONTAINER = "inputs-fields"
# In InputsForm.drivers: the request's team (not an input) changes what the inputs offer.
TEAM = "team"


def refreshes(widget: forms.Widget) -> None:
    """Changing the widget's value re-renders the page's inputs for the form's values."""
    widget.attrs.update(
        {
            "hx-post": "",  # the page's own address
            "hx-trigger": "change",
            "hx-include": "closest form",
            "hx-vals": f'{{"{REFRESH}": "1"}}',
            "hx-target": f"#{INPUTS_CONTAINER}",
            "hx-select": f"#{INPUTS_CONTAINER}",
            "hx-swap": "outerHTML",
            "hx-sync": "closest form:replace",  # the last change wins
        }
    )


def is_refresh(data) -> bool:
    """A post that only asks for the form to follow its values (see `refreshes`)."""
    return data is not None and REFRESH in data


def unchecked(*forms_: forms.Form) -> None:
    """Bound forms to show as posted, without errors: a refresh is not a submission."""
    for form in forms_:
        form._errors = ErrorDict()  # type: ignore[attr-defined]  # as if cleaned, quietly


class InputsForm(BootstrapFormMixin, forms.Form):
    """The inputs of one template; `values()` gives the JSON object to validate.

    `locked` inputs are shown disabled (their initial value counts). `drivers` names what
    re-renders the form's inputs when it changes (`refreshes`): inputs, and TEAM when the
    inputs' choices depend on the team (the request page's team select then refreshes too);
    whoever builds the form may add to it before the page renders. `hidden`: the conditional
    inputs the form's values hide.
    """

    def __init__(
        self,
        *args,
        schema: dict,
        locked=frozenset(),
        choices: dict[str, Choices] | None = None,
        **kwargs,
    ):
        """`choices`: what each input with choices lists (provisioning.choices); without
        them, host choices are read here and other choices are empty."""
        super().__init__(*args, **kwargs)
        self.schema = schema
        required = set(schema.get("required", []))
        for name, prop in (schema.get("properties") or {}).items():
            self.fields[name] = _field(name, prop, name in required, (choices or {}).get(name))
        for name in set(locked) & set(self.fields):
            self.fields[name].disabled = True
        self.drivers = set(conditions.drivers(schema))
        if choice_sources(schema, "services"):  # the team's services: the team drives them
            self.drivers.add(TEAM)
        for name in self.drivers & set(self.fields):
            refreshes(self.fields[name].widget)
        self.hidden = self._follow_conditions()
        self.style_widgets()

    def _follow_conditions(self) -> frozenset[str]:
        values = {}
        for name, field in self.fields.items():
            # Not through self[name]: that bound field, cached, would miss later help-text changes.
            if self.is_bound and not field.disabled:
                raw = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            else:
                raw = self.get_initial_for_field(field, name)
            try:
                values[name] = field.clean(raw)
            except ValidationError:
                continue  # as if absent; the submission will say what is wrong
        state = conditions.state(self.schema, values)
        conditional = conditions.conditional(self.schema) | {
            name
            for names in (self.schema.get("dependentRequired") or {}).values()
            for name in names
        }
        for name in state.hidden:
            self.fields[name].disabled = True
        for name in conditional & set(self.fields):
            widget = self.fields[name].widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                continue  # `required` there would mean "tick it"
            if name in state.required:
                widget.attrs["required"] = True
            else:
                widget.attrs.pop("required", None)
        return state.hidden

    @staticmethod
    def entered(*, schema: dict, data, prefix: str, base: dict) -> dict:
        """The values as entered (raw, over `base`), before the form is cleaned: what the
        choices of inputs that depend on others are computed from."""
        entered = dict(base)
        for name in schema.get("properties") or {}:
            value = data.get(f"{prefix}-{name}") if data is not None else None
            if value is not None:
                entered[name] = value
        return with_defaults(schema, entered)

    def values(self) -> dict:
        """Entered values; blank ones are left out so that defaults and `required` apply.
        Hidden inputs are disabled: Django takes their initial value, not what was posted."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if value is not None and value != "" and value != []
        }
