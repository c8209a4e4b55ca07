from drf_spectacular.utils import extend_schema
from rest_framework import permissions as drf_permissions
from rest_framework import status, viewsets
from rest_framework.response import Response

from core.schema import CONFLICT
from inventories import selectors, services
from inventories.api.serializers import InventoryInputSerializer, InventorySerializer
from inventories.models import Inventory
from teams import permissions


class KeepsInventories(drf_permissions.BasePermission):
    """Platform engineers; anyone else signed in gets a 403 that says why."""

    def has_permission(self, request, view) -> bool:
        if not permissions.is_platform_engineer(request.user):
            self.message = "Only platform engineers keep inventories and their hosts."
            return False
        return True


@extend_schema(responses=InventorySerializer)
class InventoryViewSet(viewsets.ModelViewSet):
    """Inventories of SSH hosts that templates reach (platform engineers only). Hosts are
    written inside their inventory: a PUT or PATCH with `hosts` replaces the whole set."""

    queryset = Inventory.objects.order_by("name")
    serializer_class = InventorySerializer
    permission_classes = [drf_permissions.IsAuthenticated, KeepsInventories]
    lookup_field = "name"
    lookup_value_regex = "[a-z0-9][a-z0-9-]*"
    filter_backends = []

    def get_queryset(self):
        return selectors.inventories_for(user=self.request.user).order_by("name")

    def _answer(self, inventory: Inventory, code: int) -> Response:
        fresh = self.get_queryset().get(pk=inventory.pk)
        return Response(InventorySerializer(fresh).data, status=code)

    @extend_schema(request=InventoryInputSerializer, responses={201: InventorySerializer})
    def create(self, request, *args, **kwargs):
        body = InventoryInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        inventory = services.create_inventory(
            actor=request.user,
            name=data.get("name", ""),
            description=data.get("description", ""),
            hosts=data.get("hosts", []),
        )
        return self._answer(inventory, status.HTTP_201_CREATED)

    @extend_schema(request=InventoryInputSerializer, responses=InventorySerializer)
    def update(self, request, *args, **kwargs):
        inventory = self.get_object()
        body = InventoryInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        inventory = services.update_inventory(
            actor=request.user, inventory=inventory, **body.validated_data
        )
        return self._answer(inventory, status.HTTP_200_OK)

    @extend_schema(request=InventoryInputSerializer, responses=InventorySerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    @extend_schema(responses={204: None, 409: CONFLICT})
    def destroy(self, request, *args, **kwargs):
        services.delete_inventory(actor=request.user, inventory=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
