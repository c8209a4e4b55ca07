from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render

from catalog.forms import InputsForm
from catalog.models import Template
from core.errors import InvalidRequest
from core.views import paginate
from provisioning import selectors, services
from provisioning.filtersets import ServiceFilterSet
from provisioning.forms import ServiceRequestForm


@login_required
def request_service(request: HttpRequest, slug: str) -> HttpResponse:
    template = get_object_or_404(
        Template.objects.restrict(request.user).select_related("current_version"),
        slug=slug,
        current_version__isnull=False,
    )
    data = request.POST if request.method == "POST" else None
    form = ServiceRequestForm(data, user=request.user)
    inputs_form = InputsForm(data, schema=template.current_version.inputs_schema, prefix="inputs")
    if data is not None and all([form.is_valid(), inputs_form.is_valid()]):
        try:
            service = services.request_service(
                user=request.user,
                template=template,
                team=form.cleaned_data["team"],
                name=form.cleaned_data["name"],
                inputs=inputs_form.values(),
            )
        except InvalidRequest as exc:
            _show_errors(exc, form, inputs_form)
        else:
            messages.success(request, f"{service.name} requested: its provision run is queued.")
            return redirect("provisioning:service", pk=service.pk)
    context = {"template": template, "form": form, "inputs_form": inputs_form}
    return render(
        request,
        "provisioning/request.html",
        context,
        status=400 if form.errors or inputs_form.errors else 200,
    )


def _show_errors(exc: InvalidRequest, form, inputs_form) -> None:
    for field, errors in exc.errors.items():
        if field == "inputs":
            for name, messages_ in errors.items():
                inputs_form.add_error(name if name in inputs_form.fields else None, messages_)
        else:
            form.add_error(field if field in form.fields else None, errors)


@login_required
def service_list(request: HttpRequest) -> HttpResponse:
    services_ = selectors.services_for(user=request.user)
    filterset = ServiceFilterSet(request.GET or None, queryset=services_, request=request)
    page = paginate(request, filterset.qs)
    return render(request, "provisioning/service_list.html", {"filter": filterset, "page": page})


@login_required
def service_detail(request: HttpRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(selectors.services_for(user=request.user), pk=pk)
    runs = service.runs.select_related("created_by").order_by("-created_at", "-pk")[:50]
    context = {"service": service, "runs": runs, "outputs": selectors.titled_outputs(service)}
    if service.last_run and not service.last_run.is_finished:
        context["run"] = service.last_run
        context["log"] = selectors.log_page(run=service.last_run)
    return render(request, "provisioning/service_detail.html", context)


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(selectors.runs_for(user=request.user), pk=pk)
    context = {"run": run, "service": run.service, "log": selectors.log_page(run=run)}
    return render(request, "provisioning/run_detail.html", context)


@login_required
def run_log(request: HttpRequest, pk: int) -> HttpResponse:
    """The log lines after `after`, and a poller for more while the run goes on (htmx)."""
    run = get_object_or_404(selectors.runs_for(user=request.user), pk=pk)
    try:
        after = int(request.GET.get("after", 0))
    except ValueError:
        return HttpResponseBadRequest("after must be a whole number")
    log = selectors.log_page(run=run, after=after)
    response = render(request, "provisioning/_log_lines.html", {"run": run, "log": log})
    if run.is_finished and not log["more"]:
        # The run has ended: reload, so that status, outputs and error show as they are now.
        response["HX-Refresh"] = "true"
    return response
