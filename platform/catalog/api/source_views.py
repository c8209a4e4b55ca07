from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from catalog import selectors, sources, sync
from catalog.api.source_serializers import (
    CatalogSourceCreatedSerializer,
    CatalogSourceCreateSerializer,
    CatalogSourceSerializer,
    PromoteSerializer,
    RotateSecretSerializer,
    SecretSerializer,
    SyncQueuedSerializer,
    SyncRequestSerializer,
)
from catalog.models import CatalogSource
from core.api import RestrictedViewSetMixin
from core.schema import CONFLICT


def _uncached(response: Response) -> Response:
    """An answer holding a secret, which no cache may keep."""
    add_never_cache_headers(response)
    return response


class CatalogSourceViewSet(RestrictedViewSetMixin, viewsets.ModelViewSet):
    """Where the catalogue's templates come from: git repositories (and the server's
    catalogue folder); platform engineers only. The webhook secret is answered once, when
    it is set."""

    queryset = selectors.with_details(CatalogSource.objects.all())
    serializer_class = CatalogSourceSerializer
    filter_backends = []

    def _shown(self, source: CatalogSource) -> dict:
        """The source as answered after a write (its template count read again)."""
        return CatalogSourceSerializer(self.get_queryset().get(pk=source.pk)).data

    @extend_schema(
        request=CatalogSourceCreateSerializer, responses={201: CatalogSourceCreatedSerializer}
    )
    def create(self, request, *args, **kwargs):
        body = CatalogSourceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        source, secret = sources.create_source(user=request.user, **body.validated_data)
        data = {**self._shown(source), "secret": secret}
        return _uncached(Response(data, status=status.HTTP_201_CREATED))

    @extend_schema(responses={200: CatalogSourceSerializer, 409: CONFLICT})
    def update(self, request, *args, **kwargs):
        source = self.get_object()
        if isinstance(request.data, dict) and "secret" in request.data:
            raise ValidationError(
                {"secret": ["The secret is changed with POST .../rotate-secret/, not here."]}
            )
        body = CatalogSourceSerializer(data=request.data, partial=kwargs.get("partial", False))
        body.is_valid(raise_exception=True)
        source = sources.update_source(user=request.user, source=source, **body.validated_data)
        return Response(self._shown(source))

    @extend_schema(responses={200: CatalogSourceSerializer, 409: CONFLICT})
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(responses={204: None, 409: CONFLICT})
    def destroy(self, request, *args, **kwargs):
        sources.delete_source(user=request.user, source=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=SyncRequestSerializer, responses={202: SyncQueuedSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Sync the source now, on the worker."""
        body = SyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        source = self.get_object()
        sync.request_sync(source=source, force=body.validated_data["force"])
        return Response({"detail": f"{source.name} will be synced."}, status.HTTP_202_ACCEPTED)

    @extend_schema(request=RotateSecretSerializer, responses={200: SecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new webhook secret, answered this once."""
        body = RotateSecretSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        secret = sources.rotate_secret(
            user=request.user, source=self.get_object(), **body.validated_data
        )
        return _uncached(Response({"secret": secret}))

    @extend_schema(
        request=PromoteSerializer, responses={200: CatalogSourceSerializer, 409: CONFLICT}
    )
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        """The synced commit's preview versions become everyone's (no sync); the source stays
        a preview channel for its next pushes. 409 while a sync runs or before any sync."""
        body = PromoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        source = sources.promote_source(
            user=request.user, source=self.get_object(), **body.validated_data
        )
        return Response(self._shown(source))
