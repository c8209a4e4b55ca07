from datetime import UTC
from functools import partial
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from catalog import channels
from catalog import presentation as catalog_presentation
from catalog.forms import TEAM, InputsForm, is_refresh, refreshes, unchecked
from catalog.models import Template, TemplateVersion
from core.actions import Action, refuse_if_seen
from core.errors import Conflict, InvalidRequest
from core.views import get_permitted_or_404, paginate
from provisioning import cascade, operations, presentation, rules, selectors, services
from provisioning import choices as choices_
from provisioning.filtersets import ServiceFilterSet
from provisioning.forms import ChangeInputsForm, DeprovisionForm, ExtendForm, ServiceRequestForm
from provisioning.models import Service
from teams.models import Team


# Inputs may be secrets: keep them out of Django's error reports.
@sensitive_post_parameters()
@login_required
def request_service(request: HttpRequest, slug: str) -> HttpResponse:
    template = get_object_or_404(
        channels.with_preview_audience(
            Template.objects.restrict(request.user).select_related("current_version__source"),
            user=request.user,
        ),
        Q(current_version__isnull=False) | Q(preview_version__isnull=False),
        slug=slug,
    )
    # The version shown (a preview for its audience); the request takes the team's own.
    version = cast(TemplateVersion, channels.offered_to_user(template=template, user=request.user))
    data = request.POST if request.method == "POST" else None
    if data is not None:  # the team named first: one seen but not theirs is a 403
        teams = Team.objects.all()
        refuse_if_seen(teams, user=request.user, action=Action.CHANGE, slug=data.get("team", ""))
    form = ServiceRequestForm(data, user=request.user)
    schema = version.inputs_schema
    choices = choices_.choices_for(
        schema=schema,
        user=request.user,
        team=form.chosen_team(),
        values=InputsForm.entered(schema=schema, data=data, prefix="inputs", base={}),
    )
    inputs_form = InputsForm(data, schema=schema, prefix="inputs", choices=choices)
    if TEAM in inputs_form.drivers:
        refreshes(form.fields["team"].widget)
    if is_refresh(data):
        unchecked(form, inputs_form)
    elif data is not None and all([form.is_valid(), inputs_form.is_valid()]):
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
        "version": version,
        "summary": catalog_presentation.template_summaries([template], user=request.user)[
            template.pk
        ],
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
    messages.add_message(request, *presentation.announcement(run, queued=queued))


@login_required
def service_list(request: HttpRequest) -> HttpResponse:
    services_ = selectors.services_page(user=request.user)
    filterset = ServiceFilterSet(request.GET or None, queryset=services_, request=request)
    page = paginate(request, filterset.qs)
    return render(request, "provisioning/service_list.html", {"filter": filterset, "page": page})


@login_required
def service_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_service(request, _service(request, pk, graph=True))


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
        "graph": selectors.graph_of(service, user=request.user),
        **extra,
    }
    run = service.last_run
    if run is not None:  # its status, live; its log while it goes on, a link once it has ended
        context["run"] = run
        context["live"] = presentation.run_live(run, now=timezone.now())
        if not run.is_finished:
            context["log"] = selectors.log_page(run=run)
    return render(request, "provisioning/service_detail.html", context, status=status)


def _service(
    request: HttpRequest, pk: int, *, action: str | None = None, graph: bool = False
) -> Service:
    """The service, if the user may see it (another team's is a 404) and, for the pages of
    an action, act on it (else a 403 with the reason); with the services it uses and that
    use it when the page shows them (`graph`)."""
    services_ = selectors.services_for(user=request.user)
    if graph:
        services_ = selectors.with_graph(services_, user=request.user)
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
    schema = version.inputs_schema
    choices = choices_.choices_for(
        schema=schema,
        user=request.user,
        team=service.team,
        values=InputsForm.entered(schema=schema, data=data, prefix="inputs", base=initial),
        service=service,
    )
    form = ChangeInputsForm(
        data,
        schema=schema,
        choices=choices,
        prefix="inputs",
        initial=initial,
        current=service.inputs,
        locked=rules.locked_inputs(service, version),
    )
    status = 200
    if is_refresh(data):
        unchecked(form)
    elif data is not None and form.is_valid():
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
    """Confirm by typing the service's name, then run the deprovision playbook (with a
    cascade, the services that use it first)."""
    service = _service(request, pk, action=Action.CHANGE, graph=True)
    actions = presentation.service_actions(service)
    form = DeprovisionForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        confirm, cascading = form.cleaned_data["confirm"], form.cleaned_data["cascade"]
        run, status = _attempt(
            request,
            lambda: cascade.deprovision(
                user=request.user, service=service, confirm=confirm, cascade=cascading
            ),
            form,
        )
        if run is not None:
            queued = f"{actions.deprovision_label} queued."
            if run.service_id != service.pk:  # a cascade: a service that uses it goes first
                queued = (f"Cascade started: {run.service.name}'s deprovision queued first; "
                          f"{service.name} waits for the services that use it.")  # fmt: skip
            _announce(request, run, queued)
            return redirect("provisioning:service", pk=service.pk)
    if form.errors:
        status = 400
    context = {
        "service": service,
        "form": form,
        "actions": actions,
        "graph": selectors.graph_of(service, user=request.user),
        "first": selectors.cascade_plan(service, user=request.user) if actions.deprovision else "",
    }
    return render(request, "provisioning/deprovision.html", context, status=status)


@login_required
@require_POST
def refresh_service(request: HttpRequest, pk: int) -> HttpResponse:
    """The update with unchanged inputs that a dependency's change asks for."""
    service = _service(request, pk, action=Action.CHANGE)
    try:
        run = services.update_service(user=request.user, service=service, inputs={})
    except InvalidRequest:
        messages.error(request, "Its inputs are no longer valid: change them with Update.")
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        _announce(request, run, "Update queued with the same inputs.")
    return redirect("provisioning:service", pk=service.pk)


@login_required
def run_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """A custom action of the service's template: its inputs' form, or (an action without
    inputs, from the service page's button) run at once."""
    service = _service(request, pk, action=Action.CHANGE)
    action = service.template_version.actions.get(name)
    if action is None:
        raise Http404(f"{service.template.name} has no action {name!r}.")
    actions = presentation.service_actions(service)
    data = request.POST if request.method == "POST" else None
    choices = choices_.choices_for(
        schema=action.inputs,
        user=request.user,
        team=service.team,
        values=InputsForm.entered(schema=action.inputs, data=data, prefix="inputs", base={}),
        service=service,
    )
    form = InputsForm(data, schema=action.inputs, prefix="inputs", choices=choices)
    status = 200
    if is_refresh(data):
        unchecked(form)
    elif data is not None and form.is_valid():
        run, status = _attempt(
            request,
            lambda: operations.run_action(
                user=request.user, service=service, name=name, inputs=form.values()
            ),
            None,
            form,
        )
        if run is not None:
            _announce(request, run, f"{action.title} queued.")
            return redirect("provisioning:service", pk=service.pk)
        if status == 409 and not action.has_inputs:  # its button: the message on the page
            return redirect("provisioning:service", pk=service.pk)
    if form.errors:
        status = 400
    blocked = rules.action_refusal(service, name) or ""
    if actions.in_progress:
        blocked = "A run is in progress: wait for it to end, or cancel it."
    context = {"service": service, "action": action, "form": form, "blocked": blocked}
    return render(request, "provisioning/action.html", context, status=status)


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
