from django.db.models import QuerySet

from provisioning.models import Run, RunEvent, Service

EVENTS_PAGE = 500


def services_for(*, user) -> QuerySet[Service]:
    return Service.objects.restrict(user).select_related(
        "team", "template__current_version", "template_version", "created_by", "last_run"
    )


def runs_of(*, service: Service) -> QuerySet[Run]:
    return service.runs.select_related("template_version", "created_by").order_by(
        "-created_at", "-pk"
    )


def runs_for(*, user) -> QuerySet[Run]:
    return Run.objects.restrict(user).select_related(
        "service__team", "service__template", "template_version", "created_by"
    )


def events_after(*, run: Run, after: int = 0, limit: int = EVENTS_PAGE) -> list[RunEvent]:
    """The run's events after counter `after`, in order, at most `limit` of them."""
    return list(
        RunEvent.objects.filter(run=run, counter__gt=after)
        .order_by("counter")
        .only("counter", "event", "task", "host", "stdout", "created_at")[:limit]
    )


def log_page(*, run: Run, after: int = 0) -> dict:
    """A page of the run's log for the portal: its events, the last counter, whether more wait."""
    events = events_after(run=run, after=after)
    return {
        "events": events,
        "after": events[-1].counter if events else after,
        "more": len(events) == EVENTS_PAGE,
    }


def titled_outputs(service: Service) -> list[tuple[str, str, object]]:
    """The service's outputs as (key, title, value): declared ones first, in manifest order."""
    declared = service.template_version.outputs
    rows = [
        (key, spec.get("title", key), service.outputs[key])
        for key, spec in declared.items()
        if key in service.outputs
    ]
    rows += [(key, key, value) for key, value in service.outputs.items() if key not in declared]
    return rows
