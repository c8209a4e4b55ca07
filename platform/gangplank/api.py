"""The REST API's routes: one router over every app's viewsets."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from approvals.api.views import ApprovalViewSet
from audit.api.views import AuditEventViewSet
from catalog.api.source_views import CatalogSourceViewSet
from catalog.api.views import TemplateViewSet
from catalog.api.webhooks import SourceWebhookView
from credentials.api.views import CredentialViewSet
from inventories.api.views import InventoryViewSet
from metrics.api.views import DoraView
from notifications.api.views import DestinationViewSet
from provisioning.api.views import RunViewSet, ServiceViewSet
from teams.api.views import TeamViewSet

router = DefaultRouter()
router.register("templates", TemplateViewSet, basename="template")
router.register("catalog/sources", CatalogSourceViewSet, basename="catalog-source")
router.register("teams", TeamViewSet, basename="team")
router.register(
    r"teams/(?P<team_slug>[^/.]+)/destinations", DestinationViewSet, basename="destination"
)
router.register("services", ServiceViewSet, basename="service")
router.register("runs", RunViewSet, basename="run")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("audit", AuditEventViewSet, basename="audit")
router.register("credentials", CredentialViewSet, basename="credential")
router.register("inventories", InventoryViewSet, basename="inventory")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's script is served apart (?script), so no inline script runs; its page and
    # its components set inline styles.
    path(
        "docs/",
        csp_update({"style-src": [SELF, UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema")
        ),
        name="docs",
    ),
    path("metrics/dora/", DoraView.as_view(), name="metrics-dora"),
    path("", include("notes.api.urls")),
    # Before the router: the sources' viewset defines no `webhook` action.
    path(
        "catalog/sources/<int:pk>/webhook/",
        SourceWebhookView.as_view(),
        name="catalog-source-webhook",
    ),
    path("", include(router.urls)),
]
