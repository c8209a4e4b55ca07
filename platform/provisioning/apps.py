from django.apps import AppConfig

from provisioning.states import RunStatus, ServiceStatus

S, R = ServiceStatus, RunStatus


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Services and runs"
    # The colour of each status's badge (core's status_badge).
    status_badges = {
        S.ACTIVE: "success",
        S.FAILED: "danger",
        S.PROVISIONING: "info",
        S.UPDATING: "info",
        S.DEPROVISIONING: "warning",
        S.DEPROVISIONED: "dark",
        R.SUCCEEDED: "success",
        R.RUNNING: "info",
        R.QUEUED: "secondary",
        R.CANCELED: "warning",
        R.AWAITING_APPROVAL: "warning",
    }
