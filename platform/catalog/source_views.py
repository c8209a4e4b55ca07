"""The portal's pages for the catalogue's sources: platform engineers only."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from catalog import selectors, sources, sync
from catalog.models import CatalogSource
from catalog.source_forms import CatalogSourceForm
from core.errors import Conflict, InvalidRequest
from teams import permissions


def _source(request: HttpRequest, pk: int) -> CatalogSource:
    permissions.check_model(request.user, CatalogSource)
    return get_object_or_404(selectors.sources_for(user=request.user), pk=pk)


def _secret_page(request: HttpRequest, source: CatalogSource, secret: str) -> HttpResponse:
    context = {
        "source": source,
        "secret": secret,
        "webhook_url": selectors.webhook_url(source=source),
    }
    return render(request, "catalog/source_secret.html", context)


@login_required
def source_list(request: HttpRequest) -> HttpResponse:
    permissions.check_model(request.user, CatalogSource)
    context = {"sources": selectors.sources_for(user=request.user)}
    return render(request, "catalog/sources.html", context)


@sensitive_post_parameters("secret")
@never_cache  # the page that shows the secret once must not come back from a cache
@login_required
def source_new(request: HttpRequest) -> HttpResponse:
    permissions.check_model(request.user, CatalogSource)
    form = CatalogSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source, secret = sources.create_source(user=request.user, **form.payload())
        except InvalidRequest as exc:
            form.add_refusal(exc)
        else:
            return _secret_page(request, source, secret)
    status = 400 if form.errors else 200
    return render(request, "catalog/source_form.html", {"form": form}, status=status)


@login_required
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    form = CatalogSourceForm(request.POST or None, source=source)
    refusal = ""
    if request.method == "POST" and form.is_valid():
        try:
            sources.update_source(user=request.user, source=source, **form.payload())
        except InvalidRequest as exc:
            form.add_refusal(exc)
        except Conflict as exc:  # a sync is running: nothing saved, the form kept
            refusal = str(exc)
            messages.error(request, refusal)
        else:
            messages.success(request, f"Source {source.name} saved.")
            return redirect("catalog:sources")
    context = {"form": form, "source": source, "webhook_url": selectors.webhook_url(source=source)}
    status = 409 if refusal else 400 if form.errors else 200
    return render(request, "catalog/source_form.html", context, status=status)


@login_required
def source_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for confirmation, then delete: its templates are retired."""
    source = _source(request, pk)
    error = ""
    if request.method == "POST":
        try:
            sources.delete_source(user=request.user, source=source)
        except Conflict as exc:
            error = str(exc)
        else:
            messages.success(request, f"Source {source.name} deleted; its templates are retired.")
            return redirect("catalog:sources")
    context = {"source": source, "error": error}
    return render(request, "catalog/source_delete.html", context, status=409 if error else 200)


@require_POST
@login_required
def source_sync(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    sync.request_sync(source=source, force=request.POST.get("force") == "on")
    messages.success(request, f"{source.name} will be synced in a moment.")
    return redirect("catalog:sources")


@require_POST
@login_required
def source_promote(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    try:
        sources.promote_source(
            user=request.user, source=source, commit=request.POST.get("commit", "")
        )
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{source.name} promoted: its synced previews are everyone's.")
    return redirect("catalog:sources")


@require_POST
@never_cache
@login_required
def source_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    secret = sources.rotate_secret(user=request.user, source=source)
    return _secret_page(request, source, secret)
