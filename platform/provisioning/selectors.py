from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, cast

from django.db.models import Case, Count, F, Min, Model, Q, QuerySet, Value, When

from catalog.models import TemplateVersion
from core import secrets
from core.types import AnyUser
from notes import selectors as notes_selectors
from notes.models import ServiceNote
from provisioning.models import Run, RunEvent, Service, ServiceEvent
from provisioning.states import (
    DEPLOY_ACTIONS,
    RUN_IN_PROGRESS,
    RunAction,
    RunStatus,
    ServiceStatus,
    available_actions,
)

EVENTS_PAGE = 500


def services_for(*, user: AnyUser) -> QuerySet[Service]:
    return Service.objects.restrict(user).select_related(
        "team", "template__current_version", "template_version", "created_by", "last_run"
    )


ATTENTION_WINDOW = timedelta(days=7)


def needing_attention(services: QuerySet[Service], *, now: datetime) -> QuerySet[Service]:
    """Of `services`, those that need someone: failed, then drifted, then expiring within
    `ATTENTION_WINDOW` (soonest first), each annotated with its `attention` reason."""
    failed, drifted = Q(status=ServiceStatus.FAILED), Q(drifted=True)
    live = ~Q(status=ServiceStatus.DEPROVISIONED)
    rank = Case(When(failed, then=Value(0)), When(drifted, then=Value(1)), default=Value(2))
    return (
        services.filter(failed | live & (drifted | Q(expires_at__lte=now + ATTENTION_WINDOW)))
        .annotate(
            attention_rank=rank,
            attention=Case(
                When(failed, then=Value("failed")),
                When(drifted, then=Value("drifted")),
                default=Value("expiring"),
            ),
        )
        .order_by(
            "attention_rank",
            Case(When(attention_rank=2, then=F("expires_at"))).asc(nulls_first=True),
            "-updated_at",
            "-pk",
        )
    )


def runs_of(*, service: Service) -> QuerySet[Run]:
    return service.runs.select_related("template_version", "created_by").order_by(
        "-created_at", "-pk"
    )


def runs_for(*, user: AnyUser) -> QuerySet[Run]:
    return Run.objects.restrict(user).select_related(
        "service__team", "service__template", "template_version", "created_by"
    )


@dataclass(frozen=True)
class RunQueue:
    """Runs in progress: how many per status of RUN_IN_PROGRESS (zero included), when the
    oldest queued one was queued and, when asked for, that run."""

    counts: dict[str, int]
    oldest_queued_at: datetime | None
    oldest_queued: Run | None = None

    @property
    def queued(self) -> int:
        return self.counts[RunStatus.QUEUED]

    @property
    def running(self) -> int:
        return self.counts[RunStatus.RUNNING]


def run_queue(*, runs: QuerySet[Run], with_oldest: bool = False) -> RunQueue:
    """The queue of `runs` (all, or those a user may see): one grouped query, and one more
    for the oldest queued run itself, with its service and team, when `with_oldest`."""
    counts: dict[str, int] = dict.fromkeys(RUN_IN_PROGRESS, 0)
    oldest_at = None
    rows = (
        runs.filter(status__in=RUN_IN_PROGRESS)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"), oldest=Min("created_at"))
    )
    for status, count, oldest in rows:
        counts[status] = count
        if status == RunStatus.QUEUED:
            oldest_at = oldest
    oldest_run = None
    if with_oldest:
        queued = runs.filter(status=RunStatus.QUEUED).select_related("service__team")
        oldest_run = queued.order_by("created_at", "pk").first()
    return RunQueue(counts=counts, oldest_queued_at=oldest_at, oldest_queued=oldest_run)


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


# --- Day 2: what the portal offers on a service and a run, and the service's timeline ---

TIMELINE_LIMIT = 100
# Actions whose inputs are shown against those the service had (set by DEPLOY_ACTIONS).
INPUT_CHANGING_ACTIONS = (RunAction.UPDATE, RunAction.UPGRADE, RunAction.PREVIEW)


@dataclass(frozen=True)
class ServiceActions:
    """Which of the service page's buttons show, and whether they can be pressed now."""

    in_progress: bool
    update: bool = False
    upgrade: TemplateVersion | None = None
    deprovision: bool = False
    deprovision_label: str = "Deprovision"
    retry: Run | None = None
    cancel: Run | None = None
    extend: bool = False
    upgrade_available: TemplateVersion | None = None

    @property
    def cleanup(self) -> bool:
        """Deprovision of a service whose provision failed: removing what it left."""
        return self.deprovision_label == "Clean up"

    @property
    def offered(self) -> bool:
        """Whether the page has any action to show at all."""
        return any(
            [self.update, self.upgrade, self.deprovision, self.retry, self.cancel, self.extend]
        )


def service_actions(service: Service) -> ServiceActions:
    """The actions the service offers, from the one table in states.available_actions.

    While a run is in progress, the buttons are those of the status the run started from
    (shown disabled), and Cancel.
    """
    last = service.last_run
    in_progress = last is not None and last.status in RUN_IN_PROGRESS
    status = service.status
    if in_progress and last and last.service_status_before:
        status = last.service_status_before
    allowed = available_actions(status, service.failed_action)
    live = service.status != ServiceStatus.DEPROVISIONED
    target = upgrade_target(service) if live else None
    cleanup = status == ServiceStatus.FAILED and service.failed_action == RunAction.PROVISION
    retry = None
    if (
        not in_progress
        and last is not None
        and last.status in (RunStatus.FAILED, RunStatus.CANCELED)
        and last.action in allowed
    ):
        retry = last
    return ServiceActions(
        in_progress=in_progress,
        update=RunAction.UPDATE in allowed,
        upgrade=target if RunAction.UPGRADE in allowed else None,
        deprovision=RunAction.DEPROVISION in allowed,
        deprovision_label="Clean up" if cleanup else "Deprovision",
        retry=retry,
        cancel=last if in_progress else None,
        extend=bool(service.expires_at) and live,
        upgrade_available=target,
    )


@dataclass(frozen=True)
class RunActions:
    cancel: bool
    retry: bool


def run_actions(run: Run) -> RunActions:
    """Cancel while the run is queued or running; retry when it is the service's last run and
    ended failed or canceled."""
    service = run.service
    retry = (
        run.status in (RunStatus.FAILED, RunStatus.CANCELED)
        and service.last_run_id == run.pk
        and run.action in available_actions(service.status, service.failed_action)
    )
    return RunActions(cancel=run.status in RUN_IN_PROGRESS, retry=retry)


def upgrade_target(service: Service) -> TemplateVersion | None:
    """The template's current version when it is newer than the service's, else None."""
    current = service.template.current_version
    if current is None or current.pk == service.template_version_id:
        return None
    return current if current.is_newer_than(service.template_version) else None


def locked_inputs(service: Service, version: TemplateVersion) -> frozenset[str]:
    """The `readOnly` inputs of `version` that the service already has: they cannot change."""
    properties = version.inputs_schema.get("properties") or {}
    return frozenset(
        name for name, prop in properties.items() if prop.get("readOnly") and name in service.inputs
    )


def carried_inputs(service: Service, version: TemplateVersion) -> dict:
    """The service's inputs that `version` still declares (what an upgrade carries over)."""
    properties = version.inputs_schema.get("properties") or {}
    return {name: value for name, value in service.inputs.items() if name in properties}


def latest_expiry(service: Service) -> datetime | None:
    """The latest expiry the service may be extended to, when it expires at all."""
    limit = service.template_version.lifetime_max
    if service.expires_at is None or limit is None:
        return None
    return service.created_at + limit


_MISSING = object()


class InputChange(NamedTuple):
    name: str
    before: object
    after: object
    added: bool = False
    removed: bool = False


@dataclass
class TimelineEntry:
    """One line of a service's timeline: a run, an event (status change, extension, drift)
    or a note."""

    at: datetime
    who: str
    run: Run | None = None
    event: ServiceEvent | None = None
    note: ServiceNote | None = None
    # For runs that change inputs: what they change against the inputs the service had.
    changed: list[InputChange] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "run" if self.run is not None else "note" if self.note is not None else "event"


def notes_and_timeline(*, user: AnyUser, service: Service) -> dict:
    """The service page's Notes section and timeline, for the page and the notes form's htmx
    answer alike: one fetch of the notes for both, so that each is rendered once."""
    limit = max(notes_selectors.THREAD_LIMIT + 1, TIMELINE_LIMIT)
    newest = notes_selectors.newest_notes(user=user, service=service, limit=limit)
    return {
        "thread": notes_selectors.thread(user=user, service=service, newest=newest),
        "timeline": timeline(service, notes=newest),
        "timeline_limit": TIMELINE_LIMIT,
    }


def timeline(
    service: Service, *, notes: list[ServiceNote], limit: int = TIMELINE_LIMIT
) -> list[TimelineEntry]:
    """The service's runs, events and `notes` (its newest, already fetched) merged, newest
    first, at most `limit` of them.

    Three queries whatever the service's history: the newest runs and events, and the
    inputs of the runs that set inputs (for the "size: small → large" lines).
    """
    runs = list(
        service.runs.select_related("created_by")
        .defer("changes", "outputs")
        .order_by("-created_at", "-pk")[:limit]
    )
    events = list(service.events.select_related("actor").order_by("-created_at", "-pk")[:limit])
    baseline = _baselines(service)
    entries = [
        TimelineEntry(
            at=run.created_at,
            who=run.created_by.get_username() if run.created_by else _system(run),
            run=run,
            changed=_input_changes(baseline(run.pk), (run.inputs, run.secrets))
            if run.action in INPUT_CHANGING_ACTIONS
            else [],
        )
        for run in runs
    ]
    entries += [
        TimelineEntry(
            at=event.created_at,
            who=event.actor.get_username() if event.actor else "system",
            event=event,
        )
        for event in events
    ]
    entries += [TimelineEntry(at=n.created_at, who=n.author_name, note=n) for n in notes[:limit]]
    # A run and the status change it caused share a transaction: the change shows above it.
    entries.sort(
        key=lambda e: (
            e.at,
            e.run is None,
            e.note is not None,
            cast(Model, e.event or e.note or e.run).pk,
        ),
        reverse=True,
    )
    return entries[:limit]


def _system(run: Run) -> str:
    return f"system ({run.get_trigger_display().lower()})"


def _baselines(service: Service) -> Callable[[int], tuple[dict, str] | None]:
    """A function of a run's pk giving the inputs (and encrypted secrets) the service had
    when that run was queued: those of the latest earlier provision, update or upgrade that
    succeeded (or of the first provision when none has), in one query."""
    pks: list[int] = []
    values: list[tuple[dict, str] | None] = []
    current = None
    setters = (
        service.runs.filter(action__in=DEPLOY_ACTIONS)
        .order_by("pk")
        .values_list("pk", "action", "status", "inputs", "secrets")
    )
    for pk, action, status, inputs, secrets_token in setters:
        if status == RunStatus.SUCCEEDED or (current is None and action == RunAction.PROVISION):
            current = (inputs, secrets_token)
        pks.append(pk)
        values.append(current)

    def before(pk: int) -> tuple[dict, str] | None:
        index = bisect_left(pks, pk)
        return values[index - 1] if index else None

    return before


def _input_changes(before: tuple[dict, str] | None, after: tuple[dict, str]) -> list[InputChange]:
    """What changed between two (inputs, encrypted secrets); a secret as ******** -> ********."""
    if before is None:
        return []
    (old, before_secrets), (new, after_secrets) = before, after
    try:
        hidden = secrets.differences(before=before_secrets, after=after_secrets)
    except secrets.UnreadableSecrets:
        hidden = {}
    changes = [
        InputChange(name, value, new.get(name), removed=name not in new)
        for name, value in old.items()
        if new.get(name, _MISSING) != value
    ]
    changes += [
        InputChange(name, None, value, added=True) for name, value in new.items() if name not in old
    ]
    changes = [change for change in changes if change.name not in hidden]
    changes += [
        InputChange(name, old, new, added=old is None, removed=new is None)
        for name, (old, new) in hidden.items()
    ]
    return changes
