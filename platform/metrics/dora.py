"""DORA metrics from the platform's own runs, computed in the database.

Every figure comes from a handful of aggregate queries whatever the number of runs: counts
by week with conditional aggregation, and percentiles with window functions (a row number
and a partition size per week, keeping only the rows next to each percentile's position),
so that the same SQL works on PostgreSQL and on SQLite.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncWeek
from django.utils import timezone

from catalog.models import Template
from core.types import AnyUser
from provisioning.models import Run, ServiceEvent
from provisioning.states import DEPLOY_ACTIONS, RunStatus, ServiceStatus
from teams import permissions
from teams.models import Team

WINDOWS = (7, 30, 90)
DEFAULT_DAYS = 30
MEDIAN, P90 = 0.5, 0.9
WEEK = timedelta(days=7)
DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

DEFINITIONS = {
    "deployment_frequency": (
        "Successful provision, update and upgrade runs per day, counted on the day each "
        "finished; a partial week's rate is over its days in the window, but at least one."
    ),
    "lead_time": (
        "From the request (when the run was queued, so any approval wait is included) to the "
        "run's success, for successful provision, update and upgrade runs: median and 90th "
        "percentile (interpolated)."
    ),
    "change_failure_rate": (
        "Failed provision, update and upgrade runs over all of them that ended succeeded or "
        "failed; canceled runs are left out."
    ),
    "time_to_restore": (
        "From a service entering failed to its next active, median, over the restores made "
        "in the window (failing again before being restored counts as the same failure)."
    ),
}


@dataclass(frozen=True)
class Figures:
    """The four figures over one span: a week of the window, or the whole window."""

    start: datetime
    end: datetime
    deployments: int = 0
    failed_changes: int = 0
    lead_time_median: timedelta | None = None
    lead_time_p90: timedelta | None = None
    restores: int = 0
    time_to_restore_median: timedelta | None = None

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY

    @property
    def changes(self) -> int:
        return self.deployments + self.failed_changes

    @property
    def deployment_frequency(self) -> float:
        """Deployments per day of the span, counting at least one day: a partial week of a
        few minutes would otherwise turn one deployment into hundreds a day."""
        return self.deployments / max(self.days, 1.0)

    @property
    def change_failure_rate(self) -> float | None:
        return self.failed_changes / self.changes if self.changes else None


@dataclass(frozen=True)
class Dora:
    days: int
    team: Team | None
    template: Template | None
    total: Figures
    weeks: list[Figures]


def dora(
    *,
    user: AnyUser,
    team: Team | None = None,
    template: Template | None = None,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> Dora:
    """The figures of the runs `user` may see, of one team and/or template or all, over the
    last `days` days, per week and in total."""
    runs = permissions.restrict(Run.objects.all(), user=user, action=permissions.VIEW)
    events = permissions.restrict(ServiceEvent.objects.all(), user=user, action=permissions.VIEW)
    if team is not None:
        runs, events = runs.filter(service__team=team), events.filter(service__team=team)
    if template is not None:
        runs = runs.filter(service__template=template)
        events = events.filter(service__template=template)
    until = now or timezone.now()
    since = until - timedelta(days=days)
    total, weeks = figures(runs=runs, events=events, since=since, until=until)
    return Dora(days=days, team=team, template=template, total=total, weeks=weeks)


def figures(
    *, runs: QuerySet[Run], events: QuerySet[ServiceEvent], since: datetime, until: datetime
) -> tuple[Figures, list[Figures]]:
    """The window's figures and each week's, from already restricted runs and events."""
    changes = runs.filter(
        action__in=DEPLOY_ACTIONS,
        status__in=(RunStatus.SUCCEEDED, RunStatus.FAILED),
        finished_at__gte=since,
        finished_at__lt=until,
    ).annotate(week=TruncWeek("finished_at"))
    counts: dict[Any, Any] = {
        row["week"]: row
        for row in changes.order_by()
        .values("week")
        .annotate(
            deployments=Count("pk", filter=Q(status=RunStatus.SUCCEEDED)),
            failed_changes=Count("pk", filter=Q(status=RunStatus.FAILED)),
        )
    }
    lead_times = changes.filter(status=RunStatus.SUCCEEDED).annotate(
        value=ExpressionWrapper(F("finished_at") - F("created_at"), output_field=DurationField())
    )
    both = (MEDIAN, P90)
    lead_weekly = percentiles(queryset=lead_times, partition="week", fractions=both)
    lead_total = percentiles(queryset=lead_times, partition=None, fractions=both).get(None, {})
    incidents = restores(events=events, since=since, until=until)
    restore_counts = dict(
        incidents.order_by().values("week").annotate(n=Count("pk")).values_list("week", "n")  # type: ignore[misc]
    )
    restore_weekly = percentiles(queryset=incidents, partition="week", fractions=(MEDIAN,))
    restore_total = percentiles(queryset=incidents, partition=None, fractions=(MEDIAN,))
    restore_total_median = restore_total.get(None, {}).get(MEDIAN)

    weeks = []
    for start in week_starts(since=since, until=until):
        row = counts.get(start, {})
        lead = lead_weekly.get(start, {})
        weeks.append(
            Figures(
                start=max(start, since),
                end=min(start + WEEK, until),
                deployments=row.get("deployments", 0),
                failed_changes=row.get("failed_changes", 0),
                lead_time_median=lead.get(MEDIAN),
                lead_time_p90=lead.get(P90),
                restores=restore_counts.get(start, 0),
                time_to_restore_median=restore_weekly.get(start, {}).get(MEDIAN),
            )
        )
    total = Figures(
        start=since,
        end=until,
        deployments=sum(week.deployments for week in weeks),
        failed_changes=sum(week.failed_changes for week in weeks),
        lead_time_median=lead_total.get(MEDIAN),
        lead_time_p90=lead_total.get(P90),
        restores=sum(week.restores for week in weeks),
        time_to_restore_median=restore_total_median,
    )
    return total, weeks


def seconds(span: timedelta | None) -> float | None:
    """A duration in seconds, as the charts and the API give them (None when there is none)."""
    return None if span is None else span.total_seconds()


def restores(
    *, events: QuerySet[ServiceEvent], since: datetime, until: datetime
) -> QuerySet[ServiceEvent]:
    """Restores made in the window, each with `value` (from failed to active) and `week` (of
    the restore): a service's entries into active that end a failure, that is with an entry
    into failed since its previous entry into active; the failure counts from the first."""
    status = ServiceEvent.objects.filter(kind=ServiceEvent.Kind.STATUS)
    active_before = (
        status.filter(
            service=OuterRef(OuterRef("service")),
            to_status=ServiceStatus.ACTIVE,
            created_at__lt=OuterRef(OuterRef("created_at")),
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    failed_since = (
        status.filter(
            service=OuterRef("service"),
            to_status=ServiceStatus.FAILED,
            created_at__lt=OuterRef("created_at"),
            created_at__gt=Coalesce(Subquery(active_before), Value(EPOCH)),
        )
        .order_by("created_at")
        .values("created_at")[:1]
    )
    return (
        events.filter(
            kind=ServiceEvent.Kind.STATUS,
            to_status=ServiceStatus.ACTIVE,
            created_at__gte=since,
            created_at__lt=until,
        )
        .annotate(failed_at=Subquery(failed_since))
        .filter(failed_at__isnull=False)
        .annotate(
            value=ExpressionWrapper(F("created_at") - F("failed_at"), output_field=DurationField()),
            week=TruncWeek("created_at"),
        )
    )


def percentiles(
    *, queryset: QuerySet, partition: str | None, fractions: tuple[float, ...]
) -> dict[object, dict[float, timedelta]]:
    """Percentiles of the `value` annotation per `partition` (None: over all rows), as
    PostgreSQL's percentile_cont computes them: interpolated between the two rows around the
    position fraction * (n - 1). One query; it returns at most four rows per partition and
    fraction, those around each position."""
    over: dict[str, Any] = {"partition_by": [F(partition)]} if partition else {}
    ranked = queryset.order_by().annotate(
        rank=Window(RowNumber(), order_by=[F("value").asc(), F("pk").asc()], **over),
        size=Window(Count("pk"), **over),
    )
    near = Q()
    for fraction in fractions:
        position = ExpressionWrapper(fraction * (F("size") - 1), output_field=FloatField())
        # A band wider than the two rows needed, so that rounding in the database cannot
        # leave one out.
        near |= Q(rank__gt=position - 1, rank__lt=position + 3)
    key = [partition] if partition else []
    ranks: dict[object, dict[int, timedelta]] = defaultdict(dict)
    sizes: dict[object, int] = {}
    for *group, rank, size, value in ranked.filter(near).values_list(*key, "rank", "size", "value"):
        group_key = group[0] if group else None
        ranks[group_key][rank] = value
        sizes[group_key] = size
    return {
        group_key: {
            fraction: _interpolate(ranks[group_key], fraction * (size - 1))
            for fraction in fractions
        }
        for group_key, size in sizes.items()
    }


def _interpolate(values: dict[int, timedelta], position: float) -> timedelta:
    """The value at 0-based `position` among 1-based ranked `values`."""
    low = math.floor(position)
    below = values[low + 1]
    fraction = position - low
    if not fraction:
        return below
    return below + (values[low + 2] - below) * fraction


def week_starts(*, since: datetime, until: datetime) -> list[datetime]:
    """The Mondays (00:00 in the current time zone) of the weeks the window touches.

    Adding a week to an aware datetime moves its wall clock (zoneinfo), so every start stays
    at local midnight across a change to or from summer time."""
    local = timezone.localtime(since)
    start = (local - timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    starts = []
    while start < until:
        starts.append(start)
        start += WEEK
    return starts
