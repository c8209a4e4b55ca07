from django.conf import settings
from django.db import models

from approvals.states import ApprovalStatus
from teams.access import Access
from teams.querysets import RestrictedQuerySet


class Approval(models.Model):
    """A run that waits for an approver's decision before it is queued."""

    run = models.OneToOneField(
        "provisioning.Run", on_delete=models.PROTECT, related_name="approval"
    )
    service = models.ForeignKey(
        "provisioning.Service", on_delete=models.PROTECT, related_name="approvals"
    )
    # "platform" or the slug of the approving team, as the template declared it.
    approvers = models.CharField(max_length=50)
    # The approving team; null when platform engineers decide (or the team does not exist).
    approver_team = models.ForeignKey(
        "teams.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    # For updates: the inputs that change, as name -> [before, after].
    changes = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    access = Access(team="service__team", approver="approver_team", requester="requested_by")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"approval {self.pk} of run {self.run_id}"

    @property
    def is_pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING

    @property
    def is_approved(self) -> bool:
        return self.status == ApprovalStatus.APPROVED

    @property
    def approvers_label(self) -> str:
        if self.approver_team:
            return f"{self.approver_team.name} or platform engineers"
        return "platform engineers"
