"""The notes' API routes, under the API's namespace: a service's thread, as routed before
notes had their own viewset (the router's pattern, format suffixes included)."""

from django.urls import re_path
from rest_framework.urlpatterns import format_suffix_patterns

from notes.api.views import ServiceNoteViewSet

urlpatterns = format_suffix_patterns(
    [
        re_path(
            r"^services/(?P<pk>[^/.]+)/notes/$",
            ServiceNoteViewSet.as_view({"get": "list", "post": "create"}),
            name="service-notes",
        )
    ]
)
