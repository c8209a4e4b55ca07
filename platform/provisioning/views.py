from datetime import UTC
from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from catalog import presentation as catalog_presentation
from catalog.forms import InputsForm
from catalog.models import Template
from core.actions import Action, refuse_if_seen
from core.errors import Conflict, InvalidRequest
from core.views import get_permitted_or_404, paginate
from provisioning import presentation, rules, selectors, services
from provisioning.filtersets import ServiceFilterSet
from provisioning.forms import ChangeInputsForm, DeprovisionForm, ExtendForm, ServiceRequestForm
from provisioning.models import Service
from provisioning.states import RunStatus
from teams.models import Team


# Inputs may be secrets: keep them out of Django's error reports.
@sensitive_post_parameters()
@login_required
def request_service(request: HttpRequest, slug: str) -> HttpResponse:
    template = get_object_or_404(
        Template.objects.restrict(request.user).select_related("current_version"),
        slug=slug,
        current_version__isnull=False,
    )
    data = request.POST if request.method == "POST" else None
    if data is not None:  # the team named first: one seen but not theirs is a 403
        teams = Team.objects.all()
        refuse_if_seen(teams, user=request.user, action=Action.CHANGE, slug=data.get("team", ""))
    form = ServiceRequestForm(data, user=request.user)
    inputs_form = InputsForm(data, schema=template.current_version.inputs_schema, prefix="inputs")
    if data is not None and all([form.is_valid(), inputs_form.is_valid()]):
        service, _ = _attempt(
            request,
            lambda: services.request_service(
                user=request.user,
                template=template,
                team=form.cleaned_data["team"],
                name=form.cleaned_data["name"],
                inputs=inputs_form.values(),
            ),
            form,
            inputs_form,
        )
        if service is not None:
            _announce(request, service.last_run, f"{service.name} requested: its run is queued.")
            return redirect("provisioning:service", pk=service.pk)
    context = {
        "template": template,
        "summary": catalog_presentation.template_summaries([template])[template.pk],
        "form": form,
        "inputs_form": inputs_form,
    }
    return render(
        request,
        "provisioning/request.html",
        context,
        status=400 if form.errors or inputs_form.errors else 200,
    )


def _show_errors(exc: InvalidRequest, form, inputs_form=None) -> None:
    """The service's errors on the forms: `inputs` on the inputs form's fields, the rest on
    `form`'s (or as whole-form errors of whichever form the page has)."""
    flat = {}
    for field, errors in exc.errors.items():
        if isinstance(errors, dict):  # inputs: name -> messages, "" for the whole
            (inputs_form or form).add_refusal(InvalidRequest(errors))
        else:
            flat[field] = errors
    if form is not None:
        form.add_refusal(InvalidRequest(flat))
    else:
        for errors in flat.values():
            inputs_form.add_error(None, errors)


def _attempt(request: HttpRequest, call, form, inputs_form=None):
    """Call a service function; a refusal goes onto the form(s) (400) or into a message (409).

    Returns (what the call returned or None, the status to render with).
    """
    try:
        return call(), 200
    except InvalidRequest as exc:
        _show_errors(exc, form, inputs_form)
        return None, 400
    except Conflict as exc:
        messages.error(request, str(exc))
        return None, 409


def _announce(request: HttpRequest, run, queued: str) -> None:
    """Say the run is queued, or whom it waits for when its template wants an approval."""
    if run.status == RunStatus.AWAITING_APPROVAL:
        who = run.approval.approvers_label
        messages.info(request, f"{run.get_action_display()} requested: it waits for {who}.")
    else:
        messages.success(request, queued)


@login_required
def service_list(request: HttpRequest) -> HttpResponse:
    services_ = selectors.services_for(user=request.user)
    filterset = ServiceFilterSet(request.GET or None, queryset=services_, request=request)
    page = paginate(request, filterset.qs)
    return render(request, "provisioning/service_list.html", {"filter": filterset, "page": page})


@login_required
def service_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_service(request, _service(request, pk))


def render_service(
    request: HttpRequest, service: Service, *, status: int = 200, **extra
) -> HttpResponse:
    """The service page; `extra` goes into its context (the notes app's form as posted, when
    it was refused: the page's Notes section is the notes app's, see its template tags)."""
    context = {
        "service": service,
        "actions": presentation.service_actions(service),
        "timeline": presentation.timeline(service),
        "timeline_limit": presentation.TIMELINE_LIMIT,
        "outputs": presentation.titled_outputs(service),
        "extend_form": ExtendForm(initial={"expires_at": service.expires_at}),
        "latest_expiry": rules.latest_expiry(service),
        **extra,
    }
    run = service.last_run
    if run is not None:  # its status, live; its log while it goes on, a link once it has ended
        context["run"] = run
        context["live"] = presentation.run_live(run, now=timezone.now())
        if not run.is_finished:
            context["log"] = selectors.log_page(run=run)
    return render(request, "provisioning/service_detail.html", context, status=status)


def _service(request: HttpRequest, pk: int, *, action: str | None = None) -> Service:
    """The service, if the user may see it (another team's is a 404) and, for the pages of
    an action, act on it (else a 403 with the reason)."""
    services_ = selectors.services_for(user=request.user)
    return get_permitted_or_404(request, services_, action=action, pk=pk)


@sensitive_post_parameters()
@login_required
def update_service(request: HttpRequest, pk: int) -> HttpResponse:
    """The service's inputs, to preview (check mode) or apply with the update playbook."""
    service = _service(request, pk, action=Action.CHANGE)
    version = service.template_version
    return _change_inputs(
        request,
        service,
        version=version,
        initial=service.inputs,
        preview=partial(services.preview_change, upgrade=False),
        apply=services.update_service,
        applied="Update queued.",
        template="provisioning/update.html",
    )


@sensitive_post_parameters()
@login_required
def upgrade_service(request: HttpRequest, pk: int) -> HttpResponse:
    """The inputs of the template's newest version, to preview or apply the upgrade."""
    service = _service(request, pk, action=Action.CHANGE)
    target = rules.upgrade_target(service)
    if target is None:
        messages.info(request, f"{service.name} is on the newest version of its template.")
        return redirect("provisioning:service", pk=service.pk)
    carried = rules.carried_inputs(service, target)
    return _change_inputs(
        request,
        service,
        version=target,
        initial=carried,
        preview=partial(services.preview_change, upgrade=True),
        apply=services.upgrade_service,
        applied=f"Upgrade to {target.version} queued.",
        template="provisioning/upgrade.html",
        extra={"target": target, "dropped": [n for n in service.inputs if n not in carried]},
    )


def _change_inputs(
    request: HttpRequest,
    service: Service,
    *,
    version,
    initial: dict,
    preview,
    apply,
    applied: str,
    template: str,
    extra: dict | None = None,
) -> HttpResponse:
    """The update and upgrade pages: an inputs form with Preview and Apply buttons."""
    data = request.POST if request.method == "POST" else None
    form = ChangeInputsForm(
        data,
        schema=version.inputs_schema,
        prefix="inputs",
        initial=initial,
        current=service.inputs,
        locked=rules.locked_inputs(service, version),
    )
    status = 200
    if data is not None and form.is_valid():
        act = apply if data.get("action") == "apply" else preview
        run, status = _attempt(
            request,
            lambda: act(user=request.user, service=service, inputs=form.values()),
            None,
            form,
        )
        if run is not None and act is preview:
            messages.success(request, "Preview queued: nothing will be changed.")
            return redirect("provisioning:run", pk=run.pk)
        if run is not None:
            _announce(request, run, applied)
            return redirect("provisioning:service", pk=service.pk)
    if form.errors:
        status = 400
    context = {
        "service": service,
        "version": version,
        "form": form,
        "actions": presentation.service_actions(service),
        **(extra or {}),
    }
    return render(request, template, context, status=status)


@login_required
def deprovision_service(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm by typing the service's name, then run the deprovision playbook."""
    service = _service(request, pk, action=Action.CHANGE)
    actions = presentation.service_actions(service)
    form = DeprovisionForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        confirm = form.cleaned_data["confirm"]
        run, status = _attempt(
            request,
            lambda: services.deprovision_service(
                user=request.user, service=service, confirm=confirm
            ),
            form,
        )
        if run is not None:
            _announce(request, run, f"{actions.deprovision_label} queued.")
            return redirect("provisioning:service", pk=service.pk)
    if form.errors:
        status = 400
    context = {"service": service, "form": form, "actions": actions}
    return render(request, "provisioning/deprovision.html", context, status=status)


@login_required
def extend_service(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the service's expiry (the form also sits on the service page)."""
    service = _service(request, pk, action=Action.CHANGE)
    if request.method == "POST":
        form = ExtendForm(request.POST)
    else:
        form = ExtendForm(initial={"expires_at": service.expires_at})
    status = 200
    if request.method == "POST" and form.is_valid():
        when = form.cleaned_data["expires_at"]
        extended, status = _attempt(
            request,
            lambda: services.extend_service(user=request.user, service=service, expires_at=when),
            form,
        )
        if extended is not None:
            messages.success(
                request, f"{service.name} now expires on {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC."
            )
        if status != 400:  # done, or refused by the service's state: back to its page
            return redirect("provisioning:service", pk=service.pk)
    if form.errors:
        status = 400
    context = {"service": service, "form": form, "latest_expiry": rules.latest_expiry(service)}
    return render(request, "provisioning/extend.html", context, status=status)


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
    _announce(request, applied, f"{applied.get_action_display()} queued: run {applied.pk}.")
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
    response = HttpResponse(selectors.log_text(run=run), content_type="text/plain; charset=utf-8")
    if download:
        response["Content-Disposition"] = f"attachment; filename=run-{run.pk}.log"
    return response
