"""Statuses of services and runs, and the one table of the moves each may make."""

from django.db import models


class ServiceStatus(models.TextChoices):
    PROVISIONING = "provisioning", "Provisioning"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Failed"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class RunAction(models.TextChoices):
    PROVISION = "provision", "Provision"
    UPDATE = "update", "Update"
    DEPROVISION = "deprovision", "Deprovision"


S, R = ServiceStatus, RunStatus

SERVICE_TRANSITIONS = {
    S.PROVISIONING: frozenset({S.ACTIVE, S.FAILED}),
    S.ACTIVE: frozenset(),
    S.FAILED: frozenset(),
}

RUN_TRANSITIONS = {
    # A queued run can fail without running: its template files could not be prepared.
    R.QUEUED: frozenset({R.RUNNING, R.FAILED}),
    R.RUNNING: frozenset({R.SUCCEEDED, R.FAILED}),
    R.SUCCEEDED: frozenset(),
    R.FAILED: frozenset(),
}

RUN_FINISHED = frozenset(status for status, targets in RUN_TRANSITIONS.items() if not targets)

# What a run's end makes of its service, by action.
SERVICE_AFTER_RUN = {
    (RunAction.PROVISION, R.SUCCEEDED): S.ACTIVE,
    (RunAction.PROVISION, R.FAILED): S.FAILED,
}
