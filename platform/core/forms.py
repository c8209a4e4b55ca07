from django import forms


class BootstrapFormMixin:
    """Gives every widget Bootstrap's classes, marking fields with errors as invalid."""

    fields: dict[str, forms.Field]  # of the form it is mixed into

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def style_widgets(self) -> None:
        for field in self.fields.values():
            if "class" in field.widget.attrs:
                continue
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        super().full_clean()  # type: ignore[misc]
        self.mark_invalid()

    def add_error(self, field, error):
        super().add_error(field, error)  # type: ignore[misc]
        self.mark_invalid()

    def add_refusal(self, refusal) -> None:
        """A service's InvalidRequest on the form: each field's messages on that field, the
        rest as errors of the whole form."""
        for field, errors in refusal.errors.items():
            self.add_error(field if field in self.fields else None, errors)

    def mark_invalid(self) -> None:
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields and "is-invalid" not in self.fields[name].widget.attrs["class"]:
                self.fields[name].widget.attrs["class"] += " is-invalid"


class BootstrapForm(BootstrapFormMixin, forms.Form):
    pass
