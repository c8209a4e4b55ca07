from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import InvalidRequest
from core.views import get_permitted_or_404
from notifications import selectors, services
from notifications.forms import DestinationForm
from teams import permissions
from teams.models import Team


def _team(request: HttpRequest, slug: str) -> Team:
    """The team, to see (GET) or to manage its destinations (POST): a 404, then a 403."""
    manage = permissions.MANAGE if request.method == "POST" else None
    return get_permitted_or_404(request, Team.objects.all(), action=manage, slug=slug)


@login_required
def destinations(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's destinations and recent deliveries; its admins add destinations here."""
    team = _team(request, slug)
    form = DestinationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.add_destination(user=request.user, team=team, **form.cleaned_data)
            except InvalidRequest as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, f"Destination {form.cleaned_data['name']} added.")
                return redirect("notifications:destinations", slug=team.slug)
        status = 400
    context = {
        "team": team,
        "destinations": selectors.destinations_of(user=request.user, team=team),
        "deliveries": selectors.recent_deliveries(user=request.user, team=team),
        "form": form,
        "can_manage": permissions.can(request.user, permissions.MANAGE, team),
    }
    return render(request, "notifications/destinations.html", context, status=status)


def _destination(request: HttpRequest, slug: str, pk: int):
    team = _team(request, slug)
    return get_object_or_404(selectors.destinations_of(user=request.user, team=team), pk=pk)


@login_required
@require_POST
def remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    destination = _destination(request, slug, pk)
    services.remove_destination(user=request.user, destination=destination)
    messages.success(request, f"Destination {destination.name} removed.")
    return redirect("notifications:destinations", slug=slug)


@login_required
@require_POST
def test(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    destination = _destination(request, slug, pk)
    services.test_destination(user=request.user, destination=destination)
    messages.info(request, f"Test message to {destination.name} sent: see its delivery below.")
    return redirect("notifications:destinations", slug=slug)
