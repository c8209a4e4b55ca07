from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from core.views import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="catalog:index"), name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("catalog/", include("catalog.urls")),
    path("teams/", include("teams.urls")),
    path("tokens/", include("accounts.urls")),
    path("", include("provisioning.urls")),
    path("api/", include(("gangplank.api", "api"))),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
