from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.destinations, name="destinations"),
    path("<int:pk>/remove/", views.remove, name="remove"),
    path("<int:pk>/test/", views.test, name="test"),
]
