from django.contrib import admin

from catalog.models import CatalogSync, Template, TemplateVersion


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "category", "current_version", "retired_at", "synced_at"]
    list_filter = ["category"]
    search_fields = ["slug", "name"]
    readonly_fields = [f.name for f in Template._meta.fields]


@admin.register(TemplateVersion)
class TemplateVersionAdmin(admin.ModelAdmin):
    list_display = ["template", "version", "digest", "created_at"]
    readonly_fields = [f.name for f in TemplateVersion._meta.fields]


@admin.register(CatalogSync)
class CatalogSyncAdmin(admin.ModelAdmin):
    list_display = ["directory", "started_at"]
    readonly_fields = [f.name for f in CatalogSync._meta.fields]
