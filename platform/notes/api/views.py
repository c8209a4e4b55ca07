from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from core.api import RestrictedViewSetMixin
from notes import selectors, services
from notes.api.serializers import NoteInputSerializer, NoteSerializer
from provisioning.models import Service

DESCRIPTION = "The service's notes, oldest first; POST adds one (its team and platform engineers)."


class ServiceNoteViewSet(RestrictedViewSetMixin, viewsets.GenericViewSet):
    """/api/services/{id}/notes/: the object is the service, as the caller may see it."""

    queryset = Service.objects.select_related(
        "team",
        "template__current_version",
        "template__preview_version",
        "template_version",
        "created_by",
    ).order_by("-created_at", "-pk")
    serializer_class = NoteSerializer
    filter_backends = []

    parent: Service

    def get_parent(self) -> Service:
        return self.get_object()  # the service, for the request's action, before the body

    @extend_schema(
        operation_id="services_notes_list",
        description=DESCRIPTION,
        responses=NoteSerializer(many=True),
    )
    def list(self, request, pk=None, format=None):
        page = self.paginate_queryset(selectors.notes_of(user=request.user, service=self.parent))
        return self.get_paginated_response(NoteSerializer(page, many=True).data)

    @extend_schema(
        operation_id="services_notes_create",
        description=DESCRIPTION,
        request=NoteInputSerializer,
        responses={201: NoteSerializer},
    )
    def create(self, request, pk=None, format=None):
        body = NoteInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = services.add_note(
            user=request.user, service=self.parent, body=body.validated_data["body"]
        )
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)
