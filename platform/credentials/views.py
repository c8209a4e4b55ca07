from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from core.errors import Conflict, InvalidRequest
from credentials import selectors, services
from credentials.forms import CredentialForm
from credentials.models import Credential, CredentialType
from credentials.types import KINDS
from teams import permissions


def _credential(request: HttpRequest, pk: int) -> Credential:
    permissions.check_model(request.user, Credential)
    return get_object_or_404(selectors.credentials_for(user=request.user), pk=pk)


@login_required
def credential_list(request: HttpRequest) -> HttpResponse:
    permissions.check_model(request.user, Credential)
    context = {"credentials": selectors.credentials_for(user=request.user)}
    return render(request, "credentials/list.html", context)


@login_required
def credential_new(request: HttpRequest) -> HttpResponse:
    """Pick a type, then fill in its fields."""
    permissions.check_model(request.user, Credential)
    type = request.POST.get("type") or request.GET.get("type")
    if type not in CredentialType.values:
        return render(request, "credentials/pick.html", {"types": CredentialType.choices})
    form = CredentialForm(request.POST or None, kind=KINDS[type])
    if request.method == "POST" and form.is_valid():
        try:
            credential = services.create_credential(
                user=request.user, name=form.cleaned_data["name"], type=type, **form.payload()
            )
        except InvalidRequest as exc:
            form.add_refusal(exc)
        else:
            messages.success(request, f"Credential {credential.name} created.")
            return redirect("credentials:index")
    context = {"form": form, "type": type, "type_label": CredentialType(type).label}
    return render(request, "credentials/form.html", context, status=400 if form.errors else 200)


@login_required
def credential_edit(request: HttpRequest, pk: int) -> HttpResponse:
    credential = _credential(request, pk)
    kind = KINDS[credential.type]
    form = CredentialForm(request.POST or None, kind=kind, credential=credential)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_credential(user=request.user, credential=credential, **form.payload())
        except InvalidRequest as exc:
            form.add_refusal(exc)
        else:
            messages.success(request, f"Credential {credential.name} saved.")
            return redirect("credentials:index")
    context = {
        "form": form,
        "credential": credential,
        "type": credential.type,
        "type_label": credential.get_type_display(),
        "templates": selectors.template_names(credential),
    }
    return render(request, "credentials/form.html", context, status=400 if form.errors else 200)


@login_required
def credential_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for confirmation, then delete (refused while templates use it)."""
    credential = _credential(request, pk)
    error = ""
    if request.method == "POST":
        try:
            services.delete_credential(user=request.user, credential=credential)
        except Conflict as exc:
            error = str(exc)
        else:
            messages.success(request, f"Credential {credential.name} deleted.")
            return redirect("credentials:index")
    context = {
        "credential": credential,
        "templates": selectors.template_names(credential),
        "error": error,
    }
    return render(request, "credentials/delete.html", context, status=409 if error else 200)
