import json
from functools import partial

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from core.actions import refuse_if_seen
from core.api import RestrictedReadOnlyViewSet, RestrictedViewSetMixin
from core.schema import CONFLICT
from provisioning import cascade, operations, presentation, selectors, services
from provisioning.api.serializers import (
    ActionInputsSerializer,
    DeprovisionSerializer,
    ExtendSerializer,
    InputsSerializer,
    PreviewSerializer,
    RunEventSerializer,
    RunSerializer,
    ServiceRequestSerializer,
    ServiceSerializer,
)
from provisioning.filtersets import ServiceFilterSet
from provisioning.models import Run, Service
from teams.models import Team


class PlainTextRenderer(BaseRenderer):
    """text/plain: what a view answers as text (a run's log); its errors as JSON text."""

    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return (data if isinstance(data, str) else json.dumps(data)).encode(self.charset)


class ServiceViewSet(
    RestrictedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = selectors.with_details(Service.objects.all()).order_by("-created_at", "-pk")
    serializer_class = ServiceSerializer
    filterset_class = ServiceFilterSet

    def get_queryset(self):
        rows = super().get_queryset()
        if self.action in ("list", "retrieve"):  # the answers that show the graph
            rows = selectors.with_graph(selectors.listed_services(rows), user=self.request.user)
        return rows

    def get_serializer_class(self):
        return ServiceRequestSerializer if self.action == "create" else ServiceSerializer

    def filter_queryset(self, queryset):
        # The filters are the list's: a service's own URL finds it, deprovisioned or not.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_parent(self) -> None:
        """A request names its team: one the caller sees but may not use is a 403 before the
        rest of the body is read (one they cannot see is the `team` field's 400)."""
        if self.action == "create":
            named = self.request.data.get("team") if hasattr(self.request.data, "get") else None
            teams = Team.objects.all()
            user, action = self.request.user, self.permission_action
            refuse_if_seen(teams, user=user, action=action, slug=str(named or ""))

    @extend_schema(request=ServiceRequestSerializer, responses={201: ServiceSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ServiceRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        service = services.request_service(user=request.user, **serializer.validated_data)
        answer = ServiceSerializer(service, context=self.get_serializer_context())
        return Response(answer.data, status=status.HTTP_201_CREATED)

    def _act(self, request, serializer_class, act) -> Response:
        """Parse the body, call the service function, answer 202 with the queued run."""
        service = self.get_object()  # an invisible service is a 404 before anything else
        body = serializer_class(data=request.data)
        body.is_valid(raise_exception=True)
        run = act(user=request.user, service=service, **body.validated_data)
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=InputsSerializer, responses={202: RunSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], url_path="update", url_name="update")
    def update_service(self, request, pk=None):
        """Run the update playbook with new inputs (given ones replace, the rest are kept)."""
        return self._act(request, InputsSerializer, services.update_service)

    @extend_schema(request=PreviewSerializer, responses={202: RunSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        """What an update (or the upgrade) would change: check mode with diff, nothing applied."""
        return self._act(request, PreviewSerializer, services.preview_change)

    @extend_schema(request=InputsSerializer, responses={202: RunSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def upgrade(self, request, pk=None):
        """Move to the template's newest version; inputs carry over, new defaults fill in."""
        return self._act(request, InputsSerializer, services.upgrade_service)

    @extend_schema(request=DeprovisionSerializer, responses={202: RunSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def deprovision(self, request, pk=None):
        """Run the deprovision playbook; the service stays as history. Refused (409) while
        live services use it, unless `cascade`: then they are deprovisioned first, leaves
        first, each as its own run, and the answer is the first run queued."""
        return self._act(request, DeprovisionSerializer, cascade.deprovision)

    @extend_schema(
        request=ActionInputsSerializer,
        responses={202: RunSerializer, 409: CONFLICT},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"actions/(?P<name>[^/.]+)",
        url_name="action",
    )
    def run_action(self, request, pk=None, name=None):
        """Run one of the template's custom actions (see `actions`) with its own inputs."""
        return self._act(request, ActionInputsSerializer, partial(operations.run_action, name=name))

    @extend_schema(request=ExtendSerializer, responses={200: ServiceSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        """Move the expiry, up to the template's maximum lifetime from creation."""
        service = self.get_object()
        body = ExtendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        service = services.extend_service(user=request.user, service=service, **body.validated_data)
        return Response(ServiceSerializer(service, context=self.get_serializer_context()).data)

    @extend_schema(responses=RunSerializer(many=True))
    @action(detail=True, filter_backends=[])
    def runs(self, request, pk=None):
        """The service's runs, newest first."""
        runs = selectors.runs_of(service=self.get_object())
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(RunSerializer(page, many=True).data)


class RunViewSet(RestrictedReadOnlyViewSet):
    queryset = Run.objects.select_related("template_version", "created_by").order_by(
        "-created_at", "-pk"
    )
    serializer_class = RunSerializer
    filterset_fields = ["service", "status", "action"]

    def get_queryset(self):
        rows = super().get_queryset()
        return selectors.listed_runs(rows) if self.action in ("list", "retrieve") else rows

    @extend_schema(request=None, responses={202: RunSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a queued run, or stop a running one."""
        run = services.cancel_run(user=request.user, run=self.get_object())
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: RunSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """A new run of a failed run's action, with the same inputs."""
        run = services.retry_run(user=request.user, run=self.get_object())
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: RunSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        """Queue the update (or upgrade) a succeeded preview checked, with the same inputs."""
        run = services.apply_preview(user=request.user, run=self.get_object())
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        # Errors are JSON, the log text: no `format` to choose between them.
        parameters=[OpenApiParameter("format", exclude=True)],
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    @action(
        detail=True,
        filter_backends=[],
        pagination_class=None,
        renderer_classes=[JSONRenderer, PlainTextRenderer],
    )
    def log(self, request, pk=None):
        """The run's whole log as plain text: ANSI codes stripped, secrets masked."""
        return presentation.log_text_response(self.get_object())

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
