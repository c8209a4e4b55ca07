"""Prometheus metrics computed from the database at scrape time.

Every figure is read from the database when Prometheus scrapes, so it is the same whichever
gunicorn process answers and however many Celery workers ran the runs: no process keeps a
count of its own, and no multiprocess directory is needed. Each family is a function of
`FAMILIES` making one query; adding a metric is adding a function there (a histogram of
durations is a call of `duration_histogram`).
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta

from django.db.models import (
    Count,
    DurationField,
    Expression,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from approvals.models import Approval
from approvals.states import ApprovalStatus
from notifications.models import Delivery
from notifications.states import DeliveryStatus
from provisioning.models import Run, Service
from provisioning.selectors import run_queue
from provisioning.states import RUN_FINISHED, RUN_IN_PROGRESS, ServiceStatus

# Upper bounds of the run duration histogram, in seconds: playbooks take seconds to hours.
DURATION_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 5 * 3600)
# ...and of approval waits: minutes to the week or so before a request lapses.
APPROVAL_BUCKETS = (60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)


def runs_total() -> Iterator[Metric]:
    family = CounterMetricFamily(
        "gangplank_runs",
        "Finished runs by template, action and final status.",
        labels=["template", "action", "status"],
    )
    rows = (
        Run.objects.filter(status__in=RUN_FINISHED)
        .order_by()
        .values_list("service__template__slug", "action", "status")
        .annotate(n=Count("pk"))
    )
    for template, action, status, count in rows:
        family.add_metric([template, action, status], count)
    yield family


def run_duration() -> Iterator[Metric]:
    """From start to finish of runs that started, by template and action."""
    yield duration_histogram(
        name="gangplank_run_duration_seconds",
        documentation="How long finished runs took, from start to finish.",
        queryset=Run.objects.filter(
            status__in=RUN_FINISHED, started_at__isnull=False, finished_at__isnull=False
        ),
        duration=F("finished_at") - F("started_at"),
        labels={"template": "service__template__slug", "action": "action"},
    )


def duration_histogram(
    *,
    name: str,
    documentation: str,
    queryset: QuerySet,
    duration: Expression,
    labels: dict[str, str],
    buckets: tuple[float, ...] = DURATION_BUCKETS,
) -> HistogramMetricFamily:
    """A histogram of `duration` over the rows of `queryset`, per the values of the `labels`
    (label name -> field path), its buckets counted in the database: one query."""
    family = HistogramMetricFamily(name, documentation, labels=list(labels))
    counts = {
        f"le_{n}": Count("pk", filter=Q(duration__lte=timedelta(seconds=bound)))
        for n, bound in enumerate(buckets)
    }
    rows = (
        queryset.annotate(duration=ExpressionWrapper(duration, output_field=DurationField()))
        .order_by()
        .values(*labels.values())
        .annotate(count=Count("pk"), total=Sum("duration"), **counts)
    )
    for row in rows:
        cumulative = [(str(float(bound)), row[f"le_{n}"]) for n, bound in enumerate(buckets)]
        family.add_metric(
            [row[path] for path in labels.values()],
            buckets=[*cumulative, ("+Inf", row["count"])],
            sum_value=row["total"].total_seconds() if row["total"] else 0.0,
        )
    return family


def runs_in_progress() -> Iterator[Metric]:
    """A sample for every status of RUN_IN_PROGRESS (zero included), and the oldest queued."""
    family = GaugeMetricFamily(
        "gangplank_runs_in_progress", "Runs not finished yet, by status.", labels=["status"]
    )
    queue = run_queue(runs=Run.objects.all())
    for status in RUN_IN_PROGRESS:
        family.add_metric([status], queue.counts[status])
    yield family
    oldest = queue.oldest_queued_at
    yield GaugeMetricFamily(
        "gangplank_oldest_queued_run_age_seconds",
        "Age of the oldest run still queued (0 when none is).",
        value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
    )


def services() -> Iterator[Metric]:
    family = GaugeMetricFamily("gangplank_services", "Services by status.", labels=["status"])
    counts = dict(
        Service.objects.order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    for status in ServiceStatus.values:
        family.add_metric([status], counts.get(status, 0))
    yield family


def approvals() -> Iterator[Metric]:
    """Requests waiting for a decision, and how long decided ones waited."""
    yield GaugeMetricFamily(
        "gangplank_approvals_pending",
        "Requests waiting for an approver's decision.",
        value=Approval.objects.filter(status=ApprovalStatus.PENDING).count(),
    )
    yield duration_histogram(
        name="gangplank_approval_wait_seconds",
        documentation="How long decided requests waited, from request to decision.",
        queryset=Approval.objects.exclude(status=ApprovalStatus.PENDING).filter(
            decided_at__isnull=False
        ),
        duration=F("decided_at") - F("created_at"),
        labels={"status": "status"},
        buckets=APPROVAL_BUCKETS,
    )


def deliveries_failed() -> Iterator[Metric]:
    family = CounterMetricFamily(
        "gangplank_notification_deliveries_failed",
        "Notifications given up on after their last attempt, by event.",
        labels=["event"],
    )
    rows = (
        Delivery.objects.filter(status=DeliveryStatus.FAILED)
        .order_by()
        .values_list("event")
        .annotate(n=Count("pk"))
    )
    for event, count in rows:
        family.add_metric([event], count)
    yield family


FAMILIES: tuple[Callable[[], Iterable[Metric]], ...] = (
    runs_total,
    run_duration,
    runs_in_progress,
    services,
    approvals,
    deliveries_failed,
)


class DatabaseCollector(Collector):
    """Collects every family of `FAMILIES` from the database, on each scrape."""

    def collect(self) -> Iterator[Metric]:
        for family in FAMILIES:
            yield from family()

    def describe(self) -> list[Metric]:
        # Registering must not query the database; the names show on the first scrape.
        return []


registry = CollectorRegistry(auto_describe=False)
registry.register(DatabaseCollector())
