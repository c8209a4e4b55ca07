from django.urls import path

from notes import views

app_name = "notes"
urlpatterns = [path("services/<int:pk>/notes/", views.add_note, name="add")]
