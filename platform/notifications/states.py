"""Statuses of deliveries, and the one table of the moves each may make."""

from django.db import models


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


D = DeliveryStatus

# A delivery is tried until it is sent or given up.
DELIVERY_TRANSITIONS = {
    D.PENDING: frozenset({D.SENT, D.FAILED}),
    D.SENT: frozenset(),
    D.FAILED: frozenset(),
}
