from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import LoginForm, PasswordChangeForm, TokenForm
from accounts.models import ApiToken
from audit import services as audit
from core import text
from core.errors import InvalidRequest


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens; a new one's key is shown on this page once."""
    form = TokenForm(request.POST or None)
    new_key = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            _, new_key = services.create_token(user=request.user, **form.cleaned_data)
        except InvalidRequest as exc:
            form.add_refusal(exc)
        else:
            form = TokenForm()
    if form.errors:
        status = 400
    listed = ApiToken.objects.filter(user=request.user)
    context = {"tokens": listed, "form": form, "new_key": new_key}
    response = render(request, "accounts/tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the page may hold a key
    return response


@login_required
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    if services.revoke_token(user=request.user, token_key=request.POST.get("token_key", "")):
        messages.success(request, "Token revoked.")
    else:
        messages.error(request, "No such token.")
    return redirect("accounts:tokens")


class AuditedLoginView(LoginView):
    """Django's login, with logins and failed logins on the audit trail."""

    redirect_authenticated_user = True
    authentication_form = LoginForm

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(action="auth.login", actor=form.get_user(), obj=form.get_user())
        return response

    def form_invalid(self, form):
        # As typed, but storable: the form refuses a username with NUL, this still records it.
        typed = text.replaced(self.request.POST.get("username", ""))
        audit.record(action="auth.login_failed", label=typed)
        return super().form_invalid(form)


class PasswordChange(PasswordChangeView):
    """Change your own password: this session stays signed in, the others end, and every
    API token is revoked (accounts.services.set_password)."""

    form_class = PasswordChangeForm
    template_name = "accounts/password.html"
    success_url = reverse_lazy("password")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request,
            "Password changed. Your other sessions have ended and your API tokens are revoked.",
        )
        return response

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)
