from django.contrib import admin

from catalog.models import CatalogSync, Template, TemplateVersion
from core.admin import ReadOnlyAdmin

# Read-only: the catalogue changes by syncing its sources (`sync_catalog`), audited.


@admin.register(Template)
class TemplateAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "category", "current_version", "retired_at", "synced_at"]
    list_filter = ["category"]
    search_fields = ["slug", "name"]


@admin.register(TemplateVersion)
class TemplateVersionAdmin(ReadOnlyAdmin):
    list_display = ["template", "version", "digest", "created_at"]


@admin.register(CatalogSync)
class CatalogSyncAdmin(ReadOnlyAdmin):
    list_display = ["directory", "started_at"]
