"""Serializer fields the API parses input with."""

from django.db import models
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField takes a number and stores its digits (`0` as "0"), which
    the schema, saying `type: string`, does not promise."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class SlugField(serializers.SlugRelatedField):
    """A row named by its slug, refused in words: "No team named nope." rather than DRF's
    "Object with slug=nope does not exist."; one the caller may not see is unknown too.
    Only a string names one (DRF would look up the number 7 as "7")."""

    def __init__(self, *, noun: str, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        kwargs["error_messages"] = {
            "does_not_exist": f"No {noun} named {{value}}.",
            "incorrect_type": f"Must be a {noun}'s slug (a string).",
            "invalid": f"Must be a {noun}'s slug (a string).",
            **kwargs.get("error_messages", {}),
        }
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


# For ModelSerializers: the model's text columns parsed as strictly.
STRICT_FIELD_MAPPING = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.CharField: StrictCharField,
    models.TextField: StrictCharField,
}
