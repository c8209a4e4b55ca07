from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyTabularInline
from teams.models import GlobalRole, Membership, Quota, Team

# Read-only: teams are made with `create_team`, members, roles and quotas set on the
# portal's Teams page or with `grant`, through teams.services, each change audited.


class MembershipInline(ReadOnlyTabularInline):
    model = Membership


class QuotaInline(ReadOnlyTabularInline):
    model = Quota


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline, QuotaInline]


@admin.register(GlobalRole)
class GlobalRoleAdmin(ReadOnlyAdmin):
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user"]
