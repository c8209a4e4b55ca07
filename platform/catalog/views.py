from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from catalog import presentation, selectors
from core import text
from core.types import HtmxHttpRequest
from teams.permissions import is_platform_engineer

# Longer searches are cut: nobody types more, and each word is a clause of the query.
MAX_QUERY_LENGTH = 200


@login_required
def catalog(request: HtmxHttpRequest) -> HttpResponse:
    query = text.replaced(request.GET.get("q", ""))[:MAX_QUERY_LENGTH].strip()
    templates = list(selectors.requestable_templates(user=request.user, query=query))
    summaries = presentation.template_summaries(templates, user=request.user)
    context = {
        "cards": [(template, summaries[template.pk]) for template in templates],
        "query": query,
    }
    # The search box's live filtering (htmx) swaps only the results; a history restore
    # gets the whole page.
    partial = request.htmx and not request.htmx.history_restore_request
    name = "catalog/_results.html" if partial else "catalog/catalog.html"
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def status(request: HttpRequest) -> HttpResponse:
    if not is_platform_engineer(request.user):
        raise PermissionDenied("The catalogue's status is for platform engineers.")
    context = selectors.catalog_status(user=request.user)
    return render(request, "catalog/status.html", context)
