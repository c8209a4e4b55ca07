"""The run's pages: its detail, status fragment and log, and its buttons (cancel, retry,
apply a preview)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from core.errors import Conflict
from core.views import get_permitted_or_404
from provisioning import presentation, selectors, services
from provisioning.states import RunStatus


def _announce(request: HttpRequest, run, queued: str) -> None:
    messages.add_message(request, *presentation.announcement(run, queued=queued))


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(selectors.runs_for(user=request.user), pk=pk)
    context = {
        "run": run,
        "service": run.service,
        "log": selectors.log_page(run=run),
        "actions": presentation.run_actions(run),
        "live": presentation.run_live(run, now=timezone.now()),
    }
    return render(request, "provisioning/run_detail.html", context)


@login_required
@require_POST
def cancel_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_permitted_or_404(request, selectors.runs_for(user=request.user), pk=pk)
    try:
        run = services.cancel_run(user=request.user, run=run)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        if run.status == RunStatus.CANCELED:
            messages.success(request, f"Run {run.pk} canceled before it started.")
        else:
            messages.success(request, f"Cancel requested: run {run.pk} stops after its task.")
    return _back(request, fallback=reverse("provisioning:run", args=[run.pk]))


@login_required
@require_POST
def retry_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_permitted_or_404(request, selectors.runs_for(user=request.user), pk=pk)
    try:
        retry = services.retry_run(user=request.user, run=run)
    except Conflict as exc:
        messages.error(request, str(exc))
        return _back(request, fallback=reverse("provisioning:run", args=[run.pk]))
    _announce(request, retry, f"Retry queued: run {retry.pk}.")
    return redirect("provisioning:run", pk=retry.pk)


@login_required
@require_POST
def apply_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the update (or upgrade) a preview checked, with its inputs (the run's, kept
    server-side: secret values never go through the page)."""
    run = get_permitted_or_404(request, selectors.runs_for(user=request.user), pk=pk)
    try:
        applied = services.apply_preview(user=request.user, run=run)
    except Conflict as exc:
        messages.error(request, str(exc))
        return redirect("provisioning:run", pk=run.pk)
    _announce(request, applied, f"{applied.action_label} queued: run {applied.pk}.")
    return redirect("provisioning:run", pk=applied.pk)


def _back(request: HttpRequest, *, fallback: str) -> HttpResponse:
    """Back to the page the button was on (`next`, when it is on this site), else `fallback`."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if safe else fallback)


@login_required
def run_log(request: HttpRequest, pk: int) -> HttpResponse:
    """The log lines after `after`, and a poller for more while the run goes on (htmx)."""
    run = get_object_or_404(selectors.runs_for(user=request.user), pk=pk)
    try:
        after = int(request.GET.get("after", 0))
    except ValueError:
        return HttpResponseBadRequest("after must be a whole number")
    log = selectors.log_page(run=run, after=after)
    return render(request, "provisioning/_log_lines.html", {"run": run, "log": log})


@login_required
def run_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The run's status fragment (badge, elapsed time, progress), polled while it goes on.

    When the status is no longer the one the page shows (`seen`), the page hears
    "run-changed" (and "run-ended" once the run has ended): the parts of it that depend on the
    run fetch themselves again, and nothing else on the page is touched.
    """
    run = get_object_or_404(selectors.runs_for(user=request.user), pk=pk)
    live = presentation.run_live(run, now=timezone.now())
    # Without the request: polled every second, it needs none of the navigation's context.
    response = HttpResponse(render_to_string("provisioning/_run_status.html", {"live": live}))
    if request.GET.get("seen", run.status) != run.status:
        trigger_client_event(response, "run-changed", {"status": run.status})
        if run.is_finished:
            trigger_client_event(response, "run-ended", {"status": run.status})
    return response


@login_required
def run_log_text(request: HttpRequest, pk: int, download: bool = False) -> HttpResponse:
    """The run's whole log as plain text (ANSI codes stripped, secrets masked as stored), to
    read in the browser or, with `download`, to save as run-<id>.log."""
    run = get_object_or_404(selectors.runs_for(user=request.user), pk=pk)
    response = presentation.log_text_response(run)
    if download:
        response["Content-Disposition"] = f"attachment; filename=run-{run.pk}.log"
    return response
