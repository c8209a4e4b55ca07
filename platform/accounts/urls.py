from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.tokens, name="tokens"),
    path("revoke/", views.revoke, name="revoke"),
]
