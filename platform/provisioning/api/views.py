from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import RestrictedReadOnlyViewSet, RestrictedViewSetMixin
from provisioning import selectors, services
from provisioning.api.serializers import (
    RunEventSerializer,
    RunSerializer,
    ServiceRequestSerializer,
    ServiceSerializer,
)
from provisioning.filtersets import ServiceFilterSet
from provisioning.models import Run, Service


class ServiceViewSet(
    RestrictedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Service.objects.select_related(
        "team", "template", "template_version", "created_by"
    ).order_by("-created_at", "-pk")
    serializer_class = ServiceSerializer
    filterset_class = ServiceFilterSet

    def get_serializer_class(self):
        return ServiceRequestSerializer if self.action == "create" else ServiceSerializer

    @extend_schema(request=ServiceRequestSerializer, responses={201: ServiceSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ServiceRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        service = services.request_service(user=request.user, **serializer.validated_data)
        return Response(ServiceSerializer(service).data, status=status.HTTP_201_CREATED)


class RunViewSet(RestrictedReadOnlyViewSet):
    queryset = Run.objects.order_by("-created_at", "-pk")
    serializer_class = RunSerializer
    filterset_fields = ["service", "status", "action"]

    @extend_schema(
        parameters=[OpenApiParameter("after", OpenApiTypes.INT, description="a counter")],
        responses=inline_serializer(
            "RunEventPage",
            {
                "next": serializers.URLField(allow_null=True),
                "results": RunEventSerializer(many=True),
            },
        ),
    )
    @action(detail=True, filter_backends=[], pagination_class=None)
    def events(self, request, pk=None):
        """The run's events after counter `after`, in order; follow `next` for more."""
        run = self.get_object()
        try:
            after = int(request.query_params.get("after", 0))
        except ValueError:
            raise serializers.ValidationError({"after": ["Must be a whole number."]}) from None
        events = selectors.events_after(run=run, after=after)
        next_url = None
        if len(events) == selectors.EVENTS_PAGE:
            next_url = request.build_absolute_uri(f"?after={events[-1].counter}")
        return Response({"next": next_url, "results": RunEventSerializer(events, many=True).data})
