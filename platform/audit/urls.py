from django.urls import path

from audit import views

# No app_name: the pages keep their names ("audit", "audit-export").
urlpatterns = [
    path("", views.audit_list, name="audit"),
    path("export/", views.audit_export, name="audit-export"),
]
