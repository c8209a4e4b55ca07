from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import InvalidRequest
from core.views import get_permitted_or_404
from teams import permissions, services
from teams.forms import MembershipForm, QuotaForm
from teams.models import Team


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.restrict(request.user).order_by("name")
    return render(request, "teams/team_list.html", {"teams": teams})


def _team(request: HttpRequest, slug: str) -> Team:
    """The team, to see (GET) or to manage its members (POST): a 404, then a 403."""
    manage = permissions.MANAGE if request.method == "POST" else None
    return get_permitted_or_404(request, Team.objects.all(), action=manage, slug=slug)


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team(request, slug)
    form = MembershipForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.set_membership(actor=request.user, team=team, **form.cleaned_data)
        except InvalidRequest as exc:
            form.add_refusal(exc)
        else:
            messages.success(request, f"{form.cleaned_data['username']} is in {team.name}.")
            return redirect("teams:detail", slug=team.slug)
        status = 400
    elif form.errors:
        status = 400
    memberships = team.memberships.select_related("user").order_by("user__username")
    context = {
        "team": team,
        "memberships": memberships,
        "form": form,
        "can_manage": permissions.can(request.user, permissions.MANAGE, team),
        "quotas": team.quotas.select_related("template").order_by("template__name"),
        "quota_form": QuotaForm() if permissions.is_platform_engineer(request.user) else None,
    }
    return render(request, "teams/team_detail.html", context, status=status)


@login_required
@require_POST
def remove_member(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team(request, slug)
    username = request.POST.get("username", "")
    try:
        services.remove_membership(actor=request.user, team=team, username=username)
    except InvalidRequest as exc:
        messages.error(request, " ".join(exc.errors["username"]))
    else:
        messages.success(request, f"{username} left {team.name}.")
    return redirect("teams:detail", slug=team.slug)


@login_required
@require_POST
def set_quota(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team.objects.restrict(request.user), slug=slug)
    form = QuotaForm(request.POST)
    if form.is_valid():
        services.set_quota(actor=request.user, team=team, **form.cleaned_data)
        messages.success(request, f"Quotas of {team.name} saved.")
    else:
        messages.error(request, "Quota not saved: " + " ".join(form.errors.as_text().split("\n")))
    return redirect("teams:detail", slug=team.slug)
