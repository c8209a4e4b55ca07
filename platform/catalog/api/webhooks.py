from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import deliveries, webhooks
from catalog.models import CatalogSource

_ANSWER = inline_serializer("WebhookAnswer", fields={"detail": serializers.CharField()})


class SourceWebhookView(APIView):
    """A forge's push to a catalogue source (GitHub, GitLab, Gitea, Forgejo), checked with
    the source's webhook secret; a push to its branch or tag has the worker sync it."""

    # The forge signs the body; no session, no token, no CSRF.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []
    throttle_classes: list = []

    @extend_schema(
        operation_id="catalog_sources_webhook",
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(_ANSWER, description="a ping, or a push elsewhere: ignored"),
            202: OpenApiResponse(_ANSWER, description="accepted: the source will be synced"),
            400: OpenApiResponse(_ANSWER, description="not a delivery of a push"),
            403: OpenApiResponse(_ANSWER, description="bad or missing signature"),
            404: OpenApiResponse(_ANSWER, description="no such git source"),
            409: OpenApiResponse(
                _ANSWER, description="a replay: the delivery id or the commit already received"
            ),
            413: OpenApiResponse(_ANSWER, description="the body is too large"),
        },
        auth=[],
    )
    def post(self, request, pk: int):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > webhooks.MAX_BODY:
            return Response({"detail": "the body is larger than 1 MiB"}, status=413)
        try:
            body = request.body
        except RequestDataTooBig:
            return Response({"detail": "the body is larger than 1 MiB"}, status=413)
        source = CatalogSource.objects.filter(pk=pk).first()
        if source is None:
            return Response({"detail": "there is no such catalogue source"}, status=404)
        try:
            answer = deliveries.receive_webhook(source=source, headers=request.headers, body=body)
        except webhooks.Refusal as refusal:
            return Response({"detail": refusal.message}, status=refusal.status)
        return Response({"detail": answer.detail}, status=answer.status)
