from django.urls import path

from teams import views

app_name = "teams"
urlpatterns = [
    path("", views.team_list, name="index"),
    path("<slug:slug>/", views.team_detail, name="detail"),
    path("<slug:slug>/remove/", views.remove_member, name="remove"),
    path("<slug:slug>/quota/", views.set_quota, name="quota"),
]
