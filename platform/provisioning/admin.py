from django.contrib import admin

from core.admin import ReadOnlyAdmin
from provisioning.models import Run, Service

# Read-only: services and runs change only through the platform's services, never by hand.


@admin.register(Service)
class ServiceAdmin(ReadOnlyAdmin):
    list_display = ["name", "team", "template", "status", "created_by", "created_at"]
    list_filter = ["status", "team", "template"]
    list_select_related = ["team", "template", "created_by"]
    search_fields = ["name"]


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "service", "action", "status", "rc", "created_at", "finished_at"]
    list_filter = ["status", "action"]
    list_select_related = ["service__team"]
