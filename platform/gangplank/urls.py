from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.forms import AdminLoginForm
from accounts.views import AuditedLoginView, PasswordChange
from core.views import favicon, healthz
from dashboard.views import home

admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", home, name="home"),
    path("login/", AuditedLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", PasswordChange.as_view(), name="password"),
    path("catalog/", include("catalog.urls")),
    path("teams/<slug:slug>/notifications/", include("notifications.urls")),
    path("teams/", include("teams.urls")),
    path("approvals/", include("approvals.urls")),
    path("credentials/", include("credentials.urls")),
    path("inventories/", include("inventories.urls")),
    path("tokens/", include("accounts.urls")),
    path("audit/", include("audit.urls")),
    path("", include("provisioning.urls")),
    path("", include("metrics.urls")),
    path("", include("notes.urls")),
    path("api/", include(("gangplank.api", "api"))),
    # The admin's own password page would save around accounts.services.set_password.
    path("admin/password_change/", RedirectView.as_view(pattern_name="password")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
]

handler404 = "core.views.page_not_found"
# A body over DATA_UPLOAD_MAX_MEMORY_SIZE (and Django's other refusals): JSON under /api/.
handler400 = "core.views.bad_request"
