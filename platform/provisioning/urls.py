from django.urls import path

from provisioning import views

app_name = "provisioning"
urlpatterns = [
    path("catalog/<slug:slug>/", views.request_service, name="request"),
    path("services/", views.service_list, name="services"),
    path("services/<int:pk>/", views.service_detail, name="service"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/log/", views.run_log, name="run-log"),
]
