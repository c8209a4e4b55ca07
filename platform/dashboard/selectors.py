"""The home page's reads: what needs the signed-in user now.

Every list goes through teams.permissions.restrict, then is narrowed to the user's own
teams where the section is about "my teams" (a platform engineer sees every team's services
but is not asked about all of them). Each list is capped at `LIMIT` rows and counted, so
the page costs the same number of queries whatever the number of rows.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import Count, F, FloatField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from approvals.models import Approval
from approvals.states import ApprovalStatus
from catalog.models import Template
from core.types import AnyUser
from provisioning.models import Run, Service
from provisioning.selectors import RunQueue, needing_attention, run_queue
from provisioning.states import RUN_QUEUED_OR_RUNNING, STATE_CHANGING_ACTIONS, RunStatus
from teams import permissions

LIMIT = 10
FAILURE_WINDOW = timedelta(days=7)
DANGER_RATE = 0.2
# JSON and text the home page never shows.
HEAVY_RUN_FIELDS = ("inputs", "outputs", "changes", "error", "service__inputs",
                    "service__outputs", "service__drift")  # fmt: skip


@dataclass(frozen=True)
class Section:
    """The first `LIMIT` rows of a list and how many it holds in all."""

    items: list
    total: int

    @property
    def more(self) -> bool:
        return self.total > len(self.items)


def _section(queryset: QuerySet) -> Section:
    return Section(items=list(queryset[:LIMIT]), total=queryset.count())


@dataclass(frozen=True)
class FailureRate:
    slug: str
    name: str
    failed: int
    succeeded: int
    rate: float

    @property
    def percent(self) -> str:
        """The rate in percent to one decimal ("25", "0.3"), never "0" when a run failed nor
        "100" when one succeeded."""
        value = round(self.rate * 100, 1)
        if self.failed:
            value = max(value, 0.1)
        if self.succeeded:
            value = min(value, 99.9)
        return f"{value:g}"

    @property
    def level(self) -> str:
        """The badge's colour: red from 20%, amber for any failure, green for none."""
        if self.rate >= DANGER_RATE:
            return "danger"
        return "warning" if self.failed else "success"


@dataclass(frozen=True)
class Home:
    has_teams: bool
    attention: Section
    runs: Section
    awaiting: Section
    to_decide: Section
    # For platform engineers and auditors only.
    operations: bool = False
    queue: RunQueue | None = None
    failure_rates: list[FailureRate] = field(default_factory=list)
    pending_approvals: int = 0
    broken: Section | None = None

    @property
    def nothing_needs_you(self) -> bool:
        lists = (self.attention, self.runs, self.awaiting, self.to_decide)
        return not any(section.total for section in lists)


NOTHING = Section(items=[], total=0)


def home(*, user: AnyUser, now: datetime | None = None) -> Home:
    now = now or timezone.now()
    teams = cast(User, user).memberships.values("team_id")  # views sign in first
    has_teams = teams.exists()
    # A custom action's title is in its run's version's manifest (not its files).
    pending = (
        Approval.objects.filter(status=ApprovalStatus.PENDING)
        .select_related("service__team", "run__template_version", "approver_team", "requested_by")
        .defer("run__template_version__files")
    )
    to_decide = permissions.restrict(pending, user=user, action=permissions.DECIDE)
    sections: dict[str, Any] = {"attention": NOTHING, "runs": NOTHING, "awaiting": NOTHING}
    if has_teams:  # a platform engineer or auditor outside any team skips these queries
        sections = team_sections(user=user, teams=teams, pending=pending, now=now)
    extra: dict[str, Any] = {}
    if permissions.can_see_operations(user):
        extra = {
            "operations": True,
            "queue": run_queue(runs=Run.objects.restrict(user), with_oldest=True),
            "failure_rates": failure_rates(user=user, since=now - FAILURE_WINDOW),
            "pending_approvals": permissions.restrict(pending, user=user).count(),
            "broken": _section(broken_templates(user=user)),
        }
    return Home(
        has_teams=has_teams,
        to_decide=_section(to_decide.defer("changes").order_by("expires_at", "pk")),
        **sections,
        **extra,
    )


def team_sections(*, user: AnyUser, teams: QuerySet, pending: QuerySet, now: datetime) -> dict:
    """The user's teams' services needing attention, runs in progress and requests waiting
    for approval."""
    services = (
        Service.objects.restrict(user)
        .filter(team__in=teams)
        .select_related("team", "template_version")
        .defer("inputs", "outputs", "drift", "template_version__files")
    )
    runs = (
        Run.objects.restrict(user)
        .filter(service__team__in=teams, status__in=RUN_QUEUED_OR_RUNNING)
        .select_related("service", "created_by", "template_version")
        .defer(*HEAVY_RUN_FIELDS, "template_version__files")
        .order_by("created_at", "pk")
    )
    awaiting = permissions.restrict(pending, user=user).filter(service__team__in=teams)
    return {
        "attention": _section(needing_attention(services, now=now)),
        "runs": _section(runs),
        "awaiting": _section(awaiting.defer("changes").order_by("expires_at", "pk")),
    }


def failure_rates(*, user: AnyUser, since: datetime, limit: int = LIMIT) -> list[FailureRate]:
    """Per template, the runs that changed a service's status (deprovisions included, unlike
    DORA's change failure rate: a playbook that fails to clean up is broken too) finished
    since `since`: failed / (succeeded + failed), worst first; one grouped query."""
    rows = (
        Run.objects.restrict(user)
        .filter(
            action__in=STATE_CHANGING_ACTIONS,
            status__in=(RunStatus.SUCCEEDED, RunStatus.FAILED),
            finished_at__gte=since,
        )
        .values(
            slug=F("template_version__template__slug"), name=F("template_version__template__name")
        )
        .annotate(
            failed=Count("pk", filter=Q(status=RunStatus.FAILED)),
            succeeded=Count("pk", filter=Q(status=RunStatus.SUCCEEDED)),
        )
        .annotate(rate=Cast("failed", FloatField()) / Cast(Count("pk"), FloatField()))
        .order_by("-rate", "-failed", "slug")[:limit]
    )
    return [FailureRate(**row) for row in rows]


def broken_templates(*, user: AnyUser) -> QuerySet[Template]:
    return Template.objects.restrict(user).exclude(errors=[]).order_by("name")
