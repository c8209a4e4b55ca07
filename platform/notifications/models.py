from django.conf import settings
from django.db import models

from core.secrets import EncryptedField
from notifications.states import DeliveryStatus
from teams.access import Access
from teams.querysets import RestrictedQuerySet


class Event(models.TextChoices):
    RUN_FAILED = "run_failed", "Run failed"
    RUN_SUCCEEDED = "run_succeeded", "Run succeeded"
    APPROVAL_REQUESTED = "approval_requested", "Approval requested"
    APPROVAL_DECIDED = "approval_decided", "Approval decided"
    SERVICE_EXPIRING = "service_expiring", "Service expiring soon"
    SERVICE_EXPIRED = "service_expired", "Service expired"
    DRIFT_DETECTED = "drift_detected", "Drift detected"


TEST_EVENT = "test"


class Destination(models.Model):
    """Where a team's notifications go: one apprise URL (Slack, Teams, email, a webhook...)
    and the events it wants."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="destinations")
    name = models.CharField(max_length=100)
    # The apprise URL holds credentials (webhook tokens, SMTP passwords): it is stored
    # encrypted, {"url": ...} as a Fernet token (core.secrets), and never shown again;
    # pages and the API show `url_redacted`.
    secrets = EncryptedField(editable=False)
    url_redacted = models.CharField(max_length=500)
    events = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(team="team", managed=True)
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="destination_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}"


class Delivery(models.Model):
    """One message to one destination, and how sending it went."""

    destination = models.ForeignKey(
        Destination, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=30)
    service = models.ForeignKey(
        "provisioning.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=250)
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # When housekeeping last sent it again, its task having been lost (resend_lost_deliveries).
    resent_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    access = Access(team="destination__team")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.event} to {self.destination_id}: {self.status}"
