from django.urls import path

from catalog import source_views, views

app_name = "catalog"
urlpatterns = [
    path("", views.catalog, name="index"),
    path("-/status/", views.status, name="status"),
    path("-/sources/", source_views.source_list, name="sources"),
    path("-/sources/new/", source_views.source_new, name="source-new"),
    path("-/sources/<int:pk>/", source_views.source_edit, name="source-edit"),
    path("-/sources/<int:pk>/delete/", source_views.source_delete, name="source-delete"),
    path("-/sources/<int:pk>/sync/", source_views.source_sync, name="source-sync"),
    path("-/sources/<int:pk>/promote/", source_views.source_promote, name="source-promote"),
    path("-/sources/<int:pk>/rotate-secret/", source_views.source_rotate, name="source-rotate"),
]
