from django.urls import path

from credentials import views

app_name = "credentials"

urlpatterns = [
    path("", views.credential_list, name="index"),
    path("new/", views.credential_new, name="new"),
    path("<int:pk>/", views.credential_edit, name="edit"),
    path("<int:pk>/delete/", views.credential_delete, name="delete"),
]
