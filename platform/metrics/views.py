import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from metrics import charts, dora
from metrics.forms import DoraFilterForm
from metrics.prometheus import registry


@login_required
def dora_page(request: HttpRequest) -> HttpResponse:
    form = DoraFilterForm(request.GET, user=request.user)
    context: dict[str, object] = {"form": form}
    if not form.is_valid():
        return render(request, "metrics/dora.html", context, status=400)
    report = dora.dora(user=request.user, **form.cleaned_data)
    drawn = charts.charts(report=report)
    context |= {"report": report, "charts": drawn}
    return render(request, "metrics/dora.html", context)


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition, for a bearer of GANGPLANK_METRICS_TOKEN; off when unset."""
    token = settings.GANGPLANK_METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: GANGPLANK_METRICS_TOKEN is not set.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        response = HttpResponse("A bearer token is needed.\n", status=401)
        response["Content-Type"] = "text/plain"
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
