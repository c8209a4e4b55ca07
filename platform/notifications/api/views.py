from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.actions import Action, get_permitted
from core.api import RestrictedViewSetMixin
from notifications import selectors, services
from notifications.api.serializers import DeliverySerializer, DestinationSerializer
from notifications.models import Destination
from teams.models import Team

TEAM_SLUG = OpenApiParameter("team_slug", OpenApiTypes.STR, OpenApiParameter.PATH)


@extend_schema(parameters=[TEAM_SLUG])
class DestinationViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A team's notification destinations: its members read them, its admins and platform
    engineers add, test and remove them."""

    queryset = Destination.objects.order_by("name")
    serializer_class = DestinationSerializer
    filter_backends = []
    permission_actions = {
        "create": Action.MANAGE,
        "destroy": Action.MANAGE,
        "test": Action.MANAGE,
    }

    parent: Team

    def get_parent(self) -> Team:
        """The team in the URL, for the request's action: a 404, then a 403."""
        user, action, slug = self.request.user, self.permission_action, self.kwargs["team_slug"]
        return get_permitted(Team.objects.all(), user=user, action=action, slug=slug)

    def get_queryset(self):
        return super().get_queryset().filter(team=self.parent)

    def create(self, request, *args, **kwargs):
        body = DestinationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        destination = services.add_destination(
            user=request.user, team=self.parent, **body.validated_data
        )
        return Response(DestinationSerializer(destination).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.remove_destination(user=request.user, destination=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, team_slug=None, pk=None):
        """Send a test message now; follow its delivery for the outcome."""
        delivery = services.test_destination(user=request.user, destination=self.get_object())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True)
    def deliveries(self, request, team_slug=None, pk=None):
        """The destination's deliveries, newest first: sent, pending (retrying) or failed."""
        deliveries = selectors.deliveries_of(user=request.user, destination=self.get_object())
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
