"""Statuses of approval requests, and the one table of the moves each may make."""

from django.db import models


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    LAPSED = "lapsed", "Lapsed"
    WITHDRAWN = "withdrawn", "Withdrawn"


P = ApprovalStatus

# A request is decided once: approved, rejected, lapsed undecided, or withdrawn by a cancel.
APPROVAL_TRANSITIONS = {
    P.PENDING: frozenset({P.APPROVED, P.REJECTED, P.LAPSED, P.WITHDRAWN}),
    P.APPROVED: frozenset(),
    P.REJECTED: frozenset(),
    P.LAPSED: frozenset(),
    P.WITHDRAWN: frozenset(),
}
