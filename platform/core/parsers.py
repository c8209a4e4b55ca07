"""The API's parsers: DRF's, refusing what the database cannot store (see core.text).

This is the one place every API request body passes through, so no serializer, JSONField
or service has to check for NUL characters, lone surrogates or infinite numbers itself.
"""

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from core import text


def _checked(data):
    values = dict(data.lists()) if isinstance(data, QueryDict) else data
    found = text.problems(values)
    if found is None:
        return data
    if not isinstance(found, dict):  # the body itself is a bad string or number
        found = {"": found}
    if "" in found:
        found[api_settings.NON_FIELD_ERRORS_KEY] = found.pop("")
    # Form fields come as lists of values: one message for the field, not one per value.
    if isinstance(data, QueryDict):
        found = {key: [text.TEXT_MESSAGE] if isinstance(v, dict) else v for key, v in found.items()}
    raise ValidationError(found)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return _checked(super().parse(stream, media_type, parser_context))


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return _checked(super().parse(stream, media_type, parser_context))


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        _checked(parsed.data)
        return parsed
