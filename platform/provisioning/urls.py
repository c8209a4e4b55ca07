from django.urls import path

from provisioning import run_views, views

app_name = "provisioning"
urlpatterns = [
    path("catalog/<slug:slug>/", views.request_service, name="request"),
    path("services/", views.service_list, name="services"),
    path("services/<int:pk>/", views.service_detail, name="service"),
    path("services/<int:pk>/update/", views.update_service, name="update"),
    path("services/<int:pk>/upgrade/", views.upgrade_service, name="upgrade"),
    path("services/<int:pk>/deprovision/", views.deprovision_service, name="deprovision"),
    path("services/<int:pk>/extend/", views.extend_service, name="extend"),
    path("services/<int:pk>/refresh/", views.refresh_service, name="refresh"),
    path("services/<int:pk>/actions/<str:name>/", views.run_action, name="action"),
    path("runs/<int:pk>/", run_views.run_detail, name="run"),
    path("runs/<int:pk>/log/", run_views.run_log, name="run-log"),
    path("runs/<int:pk>/status/", run_views.run_status, name="run-status"),
    path("runs/<int:pk>/cancel/", run_views.cancel_run, name="run-cancel"),
    path("runs/<int:pk>/retry/", run_views.retry_run, name="run-retry"),
    path("runs/<int:pk>/apply/", run_views.apply_preview, name="run-apply"),
    path("runs/<int:pk>/log.txt", run_views.run_log_text, name="run-log-text"),
    path(
        "runs/<int:pk>/download/",
        run_views.run_log_text,
        {"download": True},
        name="run-log-download",
    ),
]
