from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from accounts.forms import AdminPasswordChangeForm

User = get_user_model()


class GangplankUserAdmin(UserAdmin):
    """Django's user admin, setting passwords the one way (accounts.services.set_password)."""

    change_password_form = AdminPasswordChangeForm


admin.site.unregister(User)
admin.site.register(User, GangplankUserAdmin)
