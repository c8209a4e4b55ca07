from typing import Any, TypeVar

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from core import actions, text

M = TypeVar("M", bound=Model)


def paginate(request: HttpRequest, queryset: QuerySet, per_page: int = 25) -> Page:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def get_permitted_or_404(
    request: HttpRequest, queryset: QuerySet[M], *, action: str | None = None, **lookup: Any
) -> M:
    """The portal's get_object_or_404, asked once per request with the request's action: by
    its HTTP method (reading is "view", writing "change") unless the view names one. One the
    user cannot see is a 404, one they see but may not act on a 403 with the policy's reason,
    before the view reads the form."""
    action = action or actions.for_method(request.method or "GET")
    return actions.get_permitted(queryset, user=request.user, action=action, **lookup)


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> FileResponse:
    """/favicon.ico, which browsers ask for on pages that name no icon (Django's admin): the
    portal's own icon (base.html names it), rather than a 404 on the console."""
    return FileResponse(staticfiles_storage.open("favicon.svg"), content_type="image/svg+xml")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 page, but JSON under /api/ as the API's own 404s are (a path that
    matches no route, such as a slug with a dot)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 (handler400), for what is refused before any view reads the request: a
    body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413; the API gets JSON, the portal a page."""
    status, message = 400, "The request could not be read."
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024 / 1024
        status, message = 413, f"The request is too large: at most {limit:g} MB is accepted."
    elif isinstance(exception, TooManyFieldsSent):
        message = "The request has too many fields."
    elif isinstance(exception, text.UnstorableAddress):
        message = exception.message
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "400.html", {"message": message}, status=status)
