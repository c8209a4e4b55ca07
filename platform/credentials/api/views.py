from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from core.api import RestrictedViewSetMixin
from core.schema import CONFLICT
from credentials import services
from credentials.api.serializers import CredentialSerializer
from credentials.models import Credential


class CredentialViewSet(RestrictedViewSetMixin, viewsets.ModelViewSet):
    """Credentials that templates name in their manifest; platform engineers only. Secret
    values are written, never read back."""

    queryset = Credential.objects.prefetch_related("templates").order_by("name")
    serializer_class = CredentialSerializer
    filter_backends = []

    def create(self, request, *args, **kwargs):
        body = CredentialSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        credential = services.create_credential(user=request.user, **body.validated_data)
        return Response(CredentialSerializer(credential).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        credential = self.get_object()
        body = CredentialSerializer(data=request.data, partial=kwargs.get("partial", False))
        body.is_valid(raise_exception=True)
        credential = services.update_credential(
            user=request.user, credential=credential, **body.validated_data
        )
        return Response(CredentialSerializer(credential).data)

    @extend_schema(responses={204: None, 409: CONFLICT})
    def destroy(self, request, *args, **kwargs):
        services.delete_credential(user=request.user, credential=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
