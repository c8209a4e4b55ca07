"""Deciding requests that wait for approval: approve, reject, lapse, withdraw.

A decision is one transaction that moves the approval with a conditional UPDATE (pending
to decided), so of two racing decisions exactly one wins; the other is a Conflict (409).
The approval row is always changed before its run, whichever path, so that no two
transactions lock them in opposite orders.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.models import Approval
from approvals.states import APPROVAL_TRANSITIONS, ApprovalStatus
from audit import services as audit
from catalog.approval import Rule
from core import states
from core.errors import Conflict, InvalidRequest
from core.types import AnyUser
from notifications import events as notify
from provisioning.models import Run
from provisioning.queueing import release_run, stop_unstarted_run
from teams import permissions
from teams.models import Team

MAX_COMMENT = 2000
DECISION_FIELDS = ["status", "decided_by", "decided_at", "comment"]


def request_approval(*, run: Run, rule: Rule, changes: dict) -> Approval:
    """Hold `run` for the rule's approvers (inside the caller's transaction)."""
    team = None if rule.by_platform else Team.objects.filter(slug=rule.approvers).first()
    approval = Approval.objects.create(
        run=run,
        service=run.service,
        approvers=rule.approvers,
        approver_team=team,
        changes=changes,
        requested_by=run.created_by,
        expires_at=timezone.now() + rule.expires,
    )
    audit.record(
        action="approval.requested",
        actor=run.created_by,
        obj=approval,
        team=run.service.team,
        label=_label(approval),
        changes=changes,
    )
    notify.approval_requested(approval=approval)
    return approval


def approve(*, user: AnyUser, approval: Approval, comment: str = "") -> Approval:
    """Approve the request: its run is queued once the decision commits."""
    permissions.check(user, permissions.DECIDE, approval)
    comment = _checked_comment(comment, required=False)
    with transaction.atomic():
        _decide(approval, to=ApprovalStatus.APPROVED, user=user, comment=comment)
        release_run(run=approval.run, actor=user)
    _reload_decision(approval)
    return approval


def reject(*, user: AnyUser, approval: Approval, comment: str) -> Approval:
    """Reject the request with a reason: its run is canceled and nothing runs."""
    permissions.check(user, permissions.DECIDE, approval)
    comment = _checked_comment(comment, required=True)
    with transaction.atomic():
        _decide(approval, to=ApprovalStatus.REJECTED, user=user, comment=comment)
        stop_unstarted_run(
            run=approval.run, actor=user, reason=f"Rejected by {user.get_username()}: {comment}"
        )
    _reload_decision(approval)
    return approval


def lapse_overdue() -> int:
    """Lapse the requests nobody decided in time; their runs are canceled."""
    lapsed = 0
    overdue = Approval.objects.filter(
        status=ApprovalStatus.PENDING, expires_at__lte=timezone.now()
    ).select_related("run", "service__team", "requested_by")
    for approval in overdue:
        with transaction.atomic():
            if not _move(approval, to=ApprovalStatus.LAPSED):
                continue  # decided meanwhile
            reason = f"Not approved before {approval.expires_at:%Y-%m-%d %H:%M} UTC: it lapsed."
            stop_unstarted_run(run=approval.run, actor=None, reason=reason)
            audit.record(
                action="approval.lapsed",
                obj=approval,
                team=approval.service.team,
                label=_label(approval),
            )
            notify.approval_decided(approval=approval, status=ApprovalStatus.LAPSED)
            lapsed += 1
    return lapsed


def withdraw(*, run: Run, user: AnyUser) -> bool:
    """The requester (or anyone who may change the service) cancels a waiting run: its
    approval is withdrawn. Inside the caller's transaction, before the run changes."""
    approval = Approval.objects.filter(run=run).select_related("service__team").first()
    if approval is None or not _move(approval, to=ApprovalStatus.WITHDRAWN, decided_by=user):
        return False
    audit.record(
        action="approval.withdrawn",
        actor=user,
        obj=approval,
        team=approval.service.team,
        label=_label(approval),
    )
    return True


def _decide(approval: Approval, *, to: str, user: AnyUser, comment: str) -> None:
    try:
        states.move_one(
            Approval.objects.filter(pk=approval.pk),
            table=APPROVAL_TRANSITIONS,
            to=to,
            decided_at=timezone.now(),
            decided_by=user,
            comment=comment,
        )
    except states.InvalidTransition as refused:
        already = f"This request is already {refused.current}; it can be decided only once."
        raise Conflict(already) from refused
    audit.record(
        action=f"approval.{to}",
        actor=user,
        obj=approval,
        team=approval.service.team,
        label=_label(approval),
        changes={"comment": [None, comment]} if comment else {},
    )
    notify.approval_decided(approval=approval, status=to, decided_by=user, comment=comment)


def _reload_decision(approval: Approval) -> None:
    """Read back what the decision changed, keeping the relations the caller selected (a
    plain refresh_from_db drops them, and serializing the approval would fetch each)."""
    approval.refresh_from_db(
        fields=DECISION_FIELDS, from_queryset=Approval.objects.select_related("decided_by")
    )


def _move(approval: Approval, *, to: str, **fields: Any) -> bool:
    return bool(
        states.move(
            Approval.objects.filter(pk=approval.pk),
            table=APPROVAL_TRANSITIONS,
            to=to,
            decided_at=timezone.now(),
            **fields,
        )
    )


def _checked_comment(comment: str | None, *, required: bool) -> str:
    comment = (comment or "").strip()
    if required and not comment:
        raise InvalidRequest({"comment": ["Say why: a rejection needs a comment."]})
    if len(comment) > MAX_COMMENT:
        raise InvalidRequest({"comment": [f"At most {MAX_COMMENT} characters."]})
    return comment


def _label(approval: Approval) -> str:
    return f"{approval.run.action_name} of {approval.service}"
