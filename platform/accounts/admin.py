from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from accounts import services
from accounts.forms import AdminPasswordChangeForm

User = get_user_model()


class GangplankUserAdmin(UserAdmin):
    """Django's user admin, setting passwords the one way (accounts.services.set_password)
    and putting every change of a user's flags on the audit trail."""

    change_password_form = AdminPasswordChangeForm

    def save_model(self, request, obj, form, change) -> None:
        services.save_user(user=obj, actor=request.user, created=not change)


admin.site.unregister(User)
admin.site.register(User, GangplankUserAdmin)
