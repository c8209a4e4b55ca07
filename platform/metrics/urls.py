from django.urls import path

from metrics import views

urlpatterns = [
    path("dora/", views.dora_page, name="dora"),
    path("metrics", views.prometheus_metrics, name="metrics"),
]
