from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from audit import export as exports
from audit import selectors
from audit.filtersets import AuditEventFilterSet
from core.views import paginate
from teams import permissions


def _events(request: HttpRequest) -> AuditEventFilterSet:
    permissions.check_audit(request.user)
    events = selectors.visible_events(user=request.user)
    return AuditEventFilterSet(request.GET or None, queryset=events, request=request)


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    filterset = _events(request)
    query = request.GET.copy()
    query.pop("page", None)
    page = paginate(request, filterset.qs, per_page=50)
    links = selectors.object_links(events=page, user=request.user)
    for event in page:
        event.link = links.get((event.object_type, event.object_id), "")
    context = {"filter": filterset, "page": page, "query": query.urlencode()}
    return render(request, "audit/audit.html", context)


@login_required
def audit_export(request: HttpRequest) -> HttpResponseBase:
    fmt = request.GET.get("as", "csv")
    if fmt not in exports.FORMATS:
        return HttpResponseBadRequest("as must be csv or jsonl")
    return exports.export(_events(request).qs, fmt)
