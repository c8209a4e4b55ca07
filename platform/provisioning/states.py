"""Statuses of services and runs, and the one table of the moves each may make."""

from django.db import models


class ServiceStatus(models.TextChoices):
    PROVISIONING = "provisioning", "Provisioning"
    ACTIVE = "active", "Active"
    UPDATING = "updating", "Updating"
    DEPROVISIONING = "deprovisioning", "Deprovisioning"
    DEPROVISIONED = "deprovisioned", "Deprovisioned"
    FAILED = "failed", "Failed"


class RunStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class RunAction(models.TextChoices):
    PROVISION = "provision", "Provision"
    UPDATE = "update", "Update"
    UPGRADE = "upgrade", "Upgrade"
    DEPROVISION = "deprovision", "Deprovision"
    PREVIEW = "preview", "Preview"
    DRIFT_CHECK = "drift_check", "Drift check"


class RunTrigger(models.TextChoices):
    USER = "user", "A user"
    EXPIRY = "expiry", "The service's expiry"
    SCHEDULE = "schedule", "The drift-check schedule"
    DEPENDENCY = "dependency", "A dependency's change"
    CASCADE = "cascade", "A cascading deprovision"


S, R, A = ServiceStatus, RunStatus, RunAction

SERVICE_TRANSITIONS: dict[str, frozenset[str]] = {
    # A provision canceled before it started made nothing: the service is gone.
    S.PROVISIONING: frozenset({S.ACTIVE, S.FAILED, S.DEPROVISIONED}),
    # Failed by a custom action declaring `on_failure: failed`.
    S.ACTIVE: frozenset({S.UPDATING, S.DEPROVISIONING, S.FAILED}),
    # Back to active (or failed) when a queued update or deprovision is canceled.
    S.UPDATING: frozenset({S.ACTIVE, S.FAILED}),
    S.DEPROVISIONING: frozenset({S.DEPROVISIONED, S.FAILED, S.ACTIVE}),
    # Back to active when the custom action it failed during succeeds on a retry.
    S.FAILED: frozenset({S.PROVISIONING, S.UPDATING, S.DEPROVISIONING, S.ACTIVE}),
    S.DEPROVISIONED: frozenset(),
}

RUN_TRANSITIONS = {
    # Approved, it is queued; rejected, lapsed or withdrawn, it is canceled without running.
    R.AWAITING_APPROVAL: frozenset({R.QUEUED, R.CANCELED}),
    # A queued run can fail without running (its worker was lost before it started).
    R.QUEUED: frozenset({R.RUNNING, R.FAILED, R.CANCELED}),
    R.RUNNING: frozenset({R.SUCCEEDED, R.FAILED, R.CANCELED}),
    R.SUCCEEDED: frozenset(),
    R.FAILED: frozenset(),
    R.CANCELED: frozenset(),
}

# Runs that hold their service: one at a time, and they can still be canceled.
RUN_IN_PROGRESS = (R.AWAITING_APPROVAL, R.QUEUED, R.RUNNING)
RUN_NOT_STARTED = (R.AWAITING_APPROVAL, R.QUEUED)
# Runs in progress past any approval: waiting for a worker or on one.
RUN_QUEUED_OR_RUNNING = (R.QUEUED, R.RUNNING)
RUN_FINISHED = frozenset(status for status, targets in RUN_TRANSITIONS.items() if not targets)

# Runs that deploy their service, applying its inputs and template version: DORA's changes
# (deployments when they succeed), and the runs a service's inputs come from.
DEPLOY_ACTIONS = (A.PROVISION, A.UPDATE, A.UPGRADE)

# The playbook each action runs, and what the service is while it runs and after success.
# Actions without a status (previews, drift checks) never move the service.
PLAYBOOK_OF: dict[str, str] = {
    A.PROVISION: "provision",
    A.UPDATE: "update",
    A.UPGRADE: "update",
    A.DEPROVISION: "deprovision",
    A.PREVIEW: "update",
    A.DRIFT_CHECK: "update",
}
STATUS_DURING: dict[str, str] = {
    A.PROVISION: S.PROVISIONING,
    A.UPDATE: S.UPDATING,
    A.UPGRADE: S.UPDATING,
    A.DEPROVISION: S.DEPROVISIONING,
}
STATUS_AFTER_SUCCESS: dict[str, str] = {
    A.PROVISION: S.ACTIVE,
    A.UPDATE: S.ACTIVE,
    A.UPGRADE: S.ACTIVE,
    A.DEPROVISION: S.DEPROVISIONED,
}
# Runs that move their service's status (previews and drift checks never do): deployments
# and deprovisions, whose failures the home page's failure rate by template counts.
STATE_CHANGING_ACTIONS = tuple(STATUS_DURING)
CHECK_MODE_ACTIONS = frozenset({A.PREVIEW, A.DRIFT_CHECK})
CHECK_MODE_FROM = {A.PREVIEW: frozenset({S.ACTIVE, S.FAILED}), A.DRIFT_CHECK: frozenset({S.ACTIVE})}


def is_custom(action: str) -> bool:
    """A template's custom day-2 action (catalog.actions), not a built-in run."""
    return action not in RunAction.values


def custom_action_available(*, action: str, status: str, failed_action: str) -> bool:
    """A custom action runs on an active service, and again on one it left failed. It never
    moves the service while it runs (as a preview)."""
    return status == S.ACTIVE or (status == S.FAILED and failed_action == action)


def available_actions(status: str, failed_action: str = "") -> frozenset[str]:
    """The actions a service in `status` may start (whether a run is in progress aside)."""
    actions = {
        action for action, during in STATUS_DURING.items() if during in SERVICE_TRANSITIONS[status]
    }
    actions |= {action for action, sources in CHECK_MODE_FROM.items() if status in sources}
    if status == S.FAILED:
        # A service whose provision failed is retried or cleaned up, not changed.
        if failed_action == A.PROVISION:
            actions -= {A.UPDATE, A.UPGRADE, A.PREVIEW}
        else:
            actions.discard(A.PROVISION)
    return frozenset(actions)
