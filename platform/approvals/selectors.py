"""Reading approvals, always through teams.permissions."""

from django.db.models import QuerySet

from approvals.models import Approval
from approvals.states import ApprovalStatus
from core.types import AnyUser
from teams import permissions


def approvals_for(
    *, user: AnyUser, status: str | None = None, action: str = permissions.VIEW
) -> QuerySet[Approval]:
    """The approvals `user` may see (or do `action` to), oldest pending first, with what the
    pages show."""
    approvals = Approval.objects.restrict(user, action).select_related(
        "run__template_version__template",
        "service__team",
        "approver_team",
        "requested_by",
        "decided_by",
    )
    if status:
        approvals = approvals.filter(status=status)
    return approvals.order_by("expires_at", "pk") if status == ApprovalStatus.PENDING else approvals


def decidable_ids(*, user: AnyUser, approvals: QuerySet[Approval]) -> set[int]:
    """Which of `approvals` the user may decide (one query)."""
    return set(
        permissions.restrict(
            approvals.filter(status=ApprovalStatus.PENDING).order_by(),
            user=user,
            action=permissions.DECIDE,
        ).values_list("pk", flat=True)
    )


def pending_for_count(*, user: AnyUser) -> int:
    """How many pending requests wait for `user`'s decision."""
    if not user.is_authenticated:
        return 0
    return (
        Approval.objects.restrict(user, permissions.DECIDE)
        .filter(status=ApprovalStatus.PENDING)
        .count()
    )
