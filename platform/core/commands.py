"""Management commands' arguments, checked before anything runs: a readable CommandError
rather than a traceback from the database.

Command-line arguments cannot hold NUL, but bytes that are not UTF-8 arrive as lone
surrogates (Python's surrogateescape), and `call_command` passes anything; model fields give
the lengths and validators, as the portal's forms do.
"""

from typing import Any, cast

from django import forms
from django.core.management.base import CommandError
from django.db import models

from core import text


def field(model: type[models.Model], name: str, **overrides) -> forms.Field:
    """The form field of `model`'s field `name`, with its max_length and, as a ModelForm
    would check them, the model field's validators (a username's characters)."""
    model_field = cast(models.Field, model._meta.get_field(name))
    form_field = cast(forms.Field, model_field.formfield(**overrides))
    form_field.validators += [v for v in model_field.validators if v not in form_field.validators]
    return form_field


def checked(label: str, value: Any, check: forms.Field | None = None) -> Any:
    """`value` (or each value of a list) cleaned by `check`, storable; else CommandError
    naming the argument by `label`."""
    if isinstance(value, list | tuple):
        return [checked(label, item, check) for item in value]
    if isinstance(value, str) and not text.storable(value):
        raise CommandError(f"Invalid {label}: {text.TEXT_MESSAGE} (bytes that are not UTF-8?)")
    if check is None:
        return value
    try:
        return check.clean(value)
    except forms.ValidationError as exc:
        raise CommandError(f"Invalid {label}: {' '.join(exc.messages)}") from None
