"""The OpenAPI schema's error answers: what every operation may answer besides success.

DRF answers errors in two shapes: `{"detail": "..."}` (401, 403, 404, 409, a malformed
body) and field errors `{"field": ["message", ...]}` (400). The AutoSchema documents them
on every operation that can give them, so that the schema names every status code the API
sends; views declare only what is theirs alone (a 409 from a state that refuses).
"""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="what went wrong, for a person")


class FieldErrorsSerializer(serializers.Serializer):
    """Field name -> its messages; `non_field_errors` for the body as a whole, `detail`
    for a body that is not JSON. Nested fields nest the same way."""


class FieldErrorsExtension(OpenApiSerializerExtension):
    target_class = FieldErrorsSerializer

    def map_serializer(self, auto_schema, direction):
        return {"type": "object", "additionalProperties": {}}


BAD_REQUEST = OpenApiResponse(FieldErrorsSerializer, description="The request is invalid.")
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="No valid token or session.")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="The caller may not do this.")
NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="No such object the caller can see, or no such page."
)
CONFLICT = OpenApiResponse(ErrorSerializer, description="The object's state refuses it now.")


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        parameters = operation.get("parameters", [])

        def add(code: str, response: OpenApiResponse) -> None:
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code)

        queries = {p["name"] for p in parameters if p["in"] == "query"}
        if "requestBody" in operation or queries - {"page"}:
            add("400", BAD_REQUEST)
        add("401", UNAUTHENTICATED)
        add("403", FORBIDDEN)
        if any(p["in"] == "path" for p in parameters) or "page" in queries:
            add("404", NOT_FOUND)
        return operation
