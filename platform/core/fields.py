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


# For ModelSerializers: the model's text columns parsed as strictly.
STRICT_FIELD_MAPPING = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.CharField: StrictCharField,
    models.TextField: StrictCharField,
}
