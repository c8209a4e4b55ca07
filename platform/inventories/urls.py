from django.urls import path

from inventories import views

app_name = "inventories"
urlpatterns = [
    path("", views.inventory_list, name="index"),
    path("-/new/", views.create, name="create"),
    path("<slug:name>/", views.detail, name="detail"),
    path("<slug:name>/edit/", views.edit, name="edit"),
    path("<slug:name>/delete/", views.delete, name="delete"),
    path("<slug:name>/hosts/new/", views.add_host, name="add-host"),
    path("<slug:name>/hosts/<str:host>/edit/", views.edit_host, name="edit-host"),
    path("<slug:name>/hosts/<str:host>/remove/", views.remove_host, name="remove-host"),
]
