from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.models import User
from django.core.validators import MaxLengthValidator

from accounts import services
from audit import context as audit_context
from core.forms import BootstrapFormMixin


class TokenForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. ci-deploy.")
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M"],
        help_text="Leave empty for a token that does not expire.",
    )


class BoundedUsernameMixin:
    """Django's login forms cap the username's widget but never check its length, so an
    over-long one reached django-axes' table (255 characters) and failed there."""

    fields: dict[str, Any]  # of the form it is mixed into

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))


class LoginForm(BoundedUsernameMixin, auth_forms.AuthenticationForm):
    pass


class AdminLoginForm(BoundedUsernameMixin, AdminAuthenticationForm):
    pass


class ServicePasswordMixin:
    """Saves the new password with `accounts.services.set_password` (tokens revoked,
    audited) instead of Django's own save, for every form that sets one."""

    cleaned_data: dict[str, Any]  # of the form it is mixed into

    def set_password_and_save(self, user: User, password_field_name="password1", commit=True):
        usable = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data[password_field_name] if usable else None
        services.set_password(user=user, password=password, actor=audit_context.request_user())
        return user


class PasswordChangeForm(ServicePasswordMixin, BootstrapFormMixin, auth_forms.PasswordChangeForm):
    pass


class AdminPasswordChangeForm(ServicePasswordMixin, auth_forms.AdminPasswordChangeForm):
    pass
