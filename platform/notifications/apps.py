from django.apps import AppConfig

from notifications.states import DeliveryStatus as D


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    # The colour of each status's badge (core's status_badge).
    status_badges = {D.PENDING: "warning", D.SENT: "success", D.FAILED: "danger"}
