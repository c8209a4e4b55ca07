"""Reading services and runs: querysets restricted to what a user may see, the run queue,
a run's log, the rows of a service's timeline."""

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)

from catalog import channels
from core.text import plain
from core.types import AnyUser
from provisioning import graph, logarchive
from provisioning.models import Run, RunEvent, Service, ServiceDependency, ServiceEvent
from provisioning.states import DEPLOY_ACTIONS, RUN_IN_PROGRESS, RunAction, RunStatus, ServiceStatus

EVENTS_PAGE = 500


# Only a run's execution reads a template version's files (kilobytes a row): never the
# pages and answers, which load the versions of services and runs without them.
VERSION_FILES = (
    "template_version__files",
    "template__current_version__files",
    "template__preview_version__files",
)
# The versions a service is offered: a list reads only their numbers (the upgrade offer).
OFFERED_MANIFESTS = ("template__current_version__manifest", "template__preview_version__manifest")


def with_details(services: QuerySet[Service]) -> QuerySet[Service]:
    """Services with what their pages and answers show loaded, and whether each one's team
    gets its template's preview (catalog.channels), so that no row costs a query."""
    return (
        services.select_related(
            "team",
            "template__current_version",
            "template__preview_version",
            "template_version",
            "created_by",
            "last_run",
        )
        .defer(*VERSION_FILES)
        .annotate(in_preview_audience=channels.team_listed())
    )


def listed_services(services: QuerySet[Service]) -> QuerySet[Service]:
    """`with_details` services as a list of them reads them: the offered versions without
    their manifests (their own version keeps its: its custom actions, a failed one's title)."""
    return services.defer(*OFFERED_MANIFESTS)


def services_page(*, user: AnyUser) -> QuerySet[Service]:
    """The services of the portal's list: it shows their version's number, none of the
    versions' manifests."""
    return listed_services(services_for(user=user)).defer("template_version__manifest")


def services_for(*, user: AnyUser) -> QuerySet[Service]:
    return with_details(Service.objects.restrict(user))


# --- services that use services --------------------------------------------------------


def with_graph(services: QuerySet[Service], *, user: AnyUser) -> QuerySet[Service]:
    """`services` with the services each uses and the live ones that use it, each edge
    annotated with whether `user` may see the service at its other end: two queries for the
    lot, read by `graph_of`."""
    seen = Service.objects.restrict(user)
    uses = ServiceDependency.objects.select_related("uses__team").annotate(
        visible=Exists(seen.filter(pk=OuterRef("uses_id")))
    )
    used_by = (
        ServiceDependency.objects.exclude(service__status=ServiceStatus.DEPROVISIONED)
        .select_related("service__team")
        .annotate(visible=Exists(seen.filter(pk=OuterRef("service_id"))))
    )
    return services.prefetch_related(
        Prefetch("dependencies", queryset=uses, to_attr="uses_edges"),
        Prefetch("dependents", queryset=used_by, to_attr="used_by_edges"),
    )


@dataclass(frozen=True)
class Link:
    """A service at the other end of an edge, and the input that picks the used one."""

    input: str
    service: Service


@dataclass(frozen=True)
class Graph:
    """What a viewer sees of a service's edges: the services it uses and those (live) that
    use it, and how many of either the viewer may not see (never named)."""

    uses: list[Link]
    uses_others: int
    used_by: list[Link]
    used_by_others: int


def graph_of(service: Service, *, user: AnyUser) -> Graph:
    """The service's edges as `user` sees them, from `with_graph`'s prefetch (read here when
    the service did not come with it)."""
    if not hasattr(service, "uses_edges"):
        service = with_graph(Service.objects.filter(pk=service.pk), user=user).get()
    uses_edges: list = service.uses_edges  # type: ignore[attr-defined]
    used_by_edges: list = service.used_by_edges  # type: ignore[attr-defined]
    uses = [Link(edge.input, edge.uses) for edge in uses_edges if edge.visible]
    used_by = [Link(edge.input, edge.service) for edge in used_by_edges if edge.visible]
    return Graph(
        uses=uses,
        uses_others=len(uses_edges) - len(uses),
        used_by=used_by,
        used_by_others=len(used_by_edges) - len(used_by),
    )


def named_for(*, user: AnyUser, services: list[Service]) -> str:
    """`services` named as `user` may see them: "alpha/web, alpha/api and 2 services of
    other teams" (their teams loaded)."""
    seen = set(
        Service.objects.restrict(user)
        .filter(pk__in=[s.pk for s in services])
        .values_list("pk", flat=True)
    )
    names = [str(s) for s in services if s.pk in seen]
    hidden = len(services) - len(names)
    if hidden:
        names.append(f"{hidden} service{'s' if hidden > 1 else ''} of other teams")
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def cascade_plan(service: Service, *, user: AnyUser) -> str:
    """What a cascading deprovision of `service` deprovisions first, named as `user` may
    see it; "" when nothing live uses it."""
    order = graph.teardown_order(service)
    return named_for(user=user, services=order) if order else ""


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


def listed_runs(runs: QuerySet[Run]) -> QuerySet[Run]:
    """`runs` as a list answers them: their version's number, not its files or manifest."""
    return runs.select_related("template_version", "created_by").defer(
        "template_version__files", "template_version__manifest"
    )


def runs_of(*, service: Service) -> QuerySet[Run]:
    return listed_runs(service.runs.order_by("-created_at", "-pk"))


def runs_for(*, user: AnyUser) -> QuerySet[Run]:
    return Run.objects.restrict(user).select_related(
        "service__team",
        "service__template__current_version",
        "service__template_version",
        "template_version",
        "created_by",
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


def log_text(*, run: Run) -> str:
    """The run's whole log as plain text: its events' (events_text), or, once retention removed
    them, its archived file's (with a line saying so when the file is missing)."""
    if run.log_archived_at is not None:
        return archived_log(run=run).text
    return events_text(run_id=run.pk)


def events_text(*, run_id: int) -> str:
    """The run's events as plain text, one query: each event's output without its ANSI codes,
    on lines of its own. The stored events are masked already."""
    outputs = (
        RunEvent.objects.filter(run_id=run_id)
        .exclude(stdout="")
        .order_by("counter")
        .values_list("stdout", flat=True)
    )
    return "".join(f"{plain(output)}\n" for output in outputs.iterator(chunk_size=2000))


@dataclass(frozen=True)
class ArchivedLog:
    """An archived run's log: its text, or a message saying why it cannot be read."""

    archived_at: datetime
    text: str
    missing: bool = False


def archived_log(*, run: Run) -> ArchivedLog:
    assert run.log_archived_at is not None
    text = logarchive.read(logarchive.path_of(settings.RUN_LOGS_DIR, run.pk))
    if text is None:
        message = (
            f"The log of run {run.pk} was archived on {run.log_archived_at:%Y-%m-%d %H:%M} UTC, "
            "but its archive file is missing or unreadable: the log cannot be shown.\n"
        )
        return ArchivedLog(archived_at=run.log_archived_at, text=message, missing=True)
    return ArchivedLog(archived_at=run.log_archived_at, text=text)


def log_page(*, run: Run, after: int = 0) -> dict:
    """A page of the run's log for the portal: its events, the last counter, whether more wait;
    or, once archived, the archived log."""
    if run.log_archived_at is not None:
        return {"events": [], "after": after, "more": False, "archived": archived_log(run=run)}
    events = events_after(run=run, after=after)
    return {
        "events": events,
        "after": events[-1].counter if events else after,
        "more": len(events) == EVENTS_PAGE,
    }


# ansible-runner's events for a task (or a handler) starting: one per task, per included file.
TASK_STARTS = ("playbook_on_task_start", "playbook_on_handler_task_start")


@dataclass(frozen=True)
class RunProgress:
    """How far a run has got: how many tasks have started, and the name of the latest."""

    tasks: int = 0
    current_task: str = ""


def run_progress(*, run: Run) -> RunProgress:
    """The run's progress from its stored events, in one query whatever their number: the
    latest task start, with the count of them all (a window over the same rows)."""
    latest = (
        RunEvent.objects.filter(run=run, event__in=TASK_STARTS)
        .annotate(started=Window(Count("pk")))
        .order_by("-counter")
        .values_list("task", "started")
        .first()
    )
    if latest is None:
        return RunProgress()
    task, started = latest
    return RunProgress(tasks=started, current_task=task)


# --- the service's timeline: its reads (provisioning.presentation assembles it) -----------


def timeline_runs(service: Service, *, limit: int) -> list[Run]:
    """The service's newest `limit` runs, newest first, without their outputs and diffs;
    with their version's manifest (a custom action's title), not its files."""
    return list(
        service.runs.select_related("created_by", "template_version")
        .defer("changes", "outputs", "template_version__files")
        .order_by("-created_at", "-pk")[:limit]
    )


def timeline_events(service: Service, *, limit: int) -> list[ServiceEvent]:
    """The service's newest `limit` events, newest first."""
    return list(service.events.select_related("actor").order_by("-created_at", "-pk")[:limit])


def input_baselines(service: Service) -> Callable[[int], tuple[dict, str] | None]:
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
