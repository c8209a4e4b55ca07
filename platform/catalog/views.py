from itertools import groupby

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from catalog import selectors
from teams.permissions import is_platform_engineer


@login_required
def catalog(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    templates = selectors.requestable_templates(user=request.user, query=query)
    categories = [
        (category or "other", list(items))
        for category, items in groupby(templates, key=lambda t: t.category)
    ]
    return render(request, "catalog/catalog.html", {"categories": categories, "query": query})


@login_required
def status(request: HttpRequest) -> HttpResponse:
    if not is_platform_engineer(request.user):
        raise PermissionDenied("The catalogue's status is for platform engineers.")
    context = selectors.catalog_status(user=request.user)
    return render(request, "catalog/status.html", context)
