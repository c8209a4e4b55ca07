"""The rules of services and runs, each written once: plain functions of the values they are
given, no queries of their own and no side effects. Forms, serializers, services, selectors
and the service page all ask here.

Functions given a service read only its fields and the relations its callers load with it
(`template__current_version`, `template__preview_version`, `template_version`,
`last_run`); `upgrade_target` asks catalog.channels, which reads a preview's audience.
"""

import re
from datetime import datetime

from catalog import channels
from catalog.actions import Action
from catalog.models import TemplateVersion
from provisioning.models import Run, Service
from provisioning.states import (
    RunAction,
    RunStatus,
    ServiceStatus,
    available_actions,
    custom_action_available,
    is_custom,
)

# --- names ----------------------------------------------------------------------------------

NAME_MAX_LENGTH = 63
# Also the request form's HTML `pattern`: the hyphen escaped, as browsers' `v` flag wants it.
NAME_PATTERN = r"[a-z][a-z0-9\-]{1,62}"
NAME_RULE = "Use 2 to 63 lowercase letters, digits and hyphens, starting with a letter."
_NAME = re.compile(NAME_PATTERN)


def is_valid_name(name: str | None) -> bool:
    """Whether `name` may name a service (unique within its team is the services' check)."""
    return bool(_NAME.fullmatch(name or ""))


# --- actions and retries --------------------------------------------------------------------

RETRYABLE = (RunStatus.FAILED, RunStatus.CANCELED)


def action_refusal(service: Service, action: str) -> str | None:
    """Why `service` cannot run `action` in its status now, or None when it can. Nothing
    runs on a service waiting in a cascade: the cascade clears the mark as it queues the
    service's own deprovision."""
    if is_custom(action):
        declared = service.template_version.actions.get(action)
        what = f"run {declared.title if declared else action}"
        allowed = custom_action_available(
            action=action, status=service.status, failed_action=service.failed_action
        )
    else:
        what = RunAction(action).label.lower()
        allowed = action in available_actions(service.status, service.failed_action)
    if service.deprovision_pending:
        return f"{service.name} is waiting to be deprovisioned: it cannot {what} now."
    if allowed:
        return None
    return f"{service.name} is {service.status}: it cannot {what} now."


def offered_actions(version: TemplateVersion, *, status: str, failed_action: str) -> list[Action]:
    """The custom actions of a service's template `version` that its status allows (a run
    in progress aside)."""
    return [
        action
        for name, action in version.actions.items()
        if custom_action_available(action=name, status=status, failed_action=failed_action)
    ]


def status_after_custom(*, action: Action | None, status: str, succeeded: bool) -> str:
    """What a custom action's end makes of its service (in `status`): active on success;
    on failure failed when the action says `on_failure: failed`, else as it was."""
    if succeeded:
        return ServiceStatus.ACTIVE
    if action is not None and action.fails_service:
        return ServiceStatus.FAILED
    return status


def retry_refusal(*, run: Run, service: Service) -> str | None:
    """Why `run` (of `service`) cannot be retried, or None when it can: it ended failed or
    canceled, it is the service's latest run, and its action is allowed in the status the
    service is in."""
    if run.status not in RETRYABLE:
        return f"Run {run.pk} did not fail; only failed or canceled runs are retried."
    if service.last_run_id != run.pk:
        return f"Run {run.pk} is not the service's latest run; start a new action."
    return action_refusal(service, run.action)


def can_retry(*, run: Run, service: Service) -> bool:
    return retry_refusal(run=run, service=service) is None


def applied_action(*, run: Run, service: Service) -> str:
    """What applying the preview `run` runs: the upgrade when it checked a version other than
    the service's, else the update."""
    if run.template_version_id != service.template_version_id:
        return RunAction.UPGRADE
    return RunAction.UPDATE


def apply_refusal(*, run: Run, service: Service) -> str | None:
    """Why the preview `run` (of `service`) cannot be applied, or None when it can: it
    succeeded, nothing ran on the service since (so its inputs and version are those the
    preview checked), an upgrade's version is still the newest, and the service's status
    allows the change."""
    if run.action != RunAction.PREVIEW:
        return f"Run {run.pk} is not a preview; only a preview is applied."
    if not run.is_finished:
        return f"Preview {run.pk} has not finished yet; apply it once it has succeeded."
    if not run.is_succeeded:
        return f"Preview {run.pk} did not succeed; there is nothing to apply."
    if service.last_run_id != run.pk:
        return (
            f"{service.name} has had another run since preview {run.pk}: preview the change again."
        )
    action = applied_action(run=run, service=service)
    if action == RunAction.UPGRADE:
        target = upgrade_target(service)
        if target is None or target.pk != run.template_version_id:
            return f"The template has changed since preview {run.pk}: preview the upgrade again."
    return action_refusal(service, action)


def is_cleanup(*, status: str, failed_action: str) -> bool:
    """Whether a deprovision removes what a failed provision left (offered as "Clean up")."""
    return status == ServiceStatus.FAILED and failed_action == RunAction.PROVISION


# --- versions, inputs, expiry ---------------------------------------------------------------


def upgrade_target(service: Service) -> TemplateVersion | None:
    """The version the service's team is offered (catalog.channels: a preview only for its
    audience) when it is newer than the service's, else None. Asks the database only when
    the template has a preview version."""
    current = channels.offered_version(
        template=service.template,
        team_id=service.team_id,
        listed=getattr(service, "in_preview_audience", None),
    )
    if current is None or current.pk == service.template_version_id:
        return None
    return current if current.is_newer_than(service.template_version) else None


def locked_inputs(service: Service, version: TemplateVersion) -> frozenset[str]:
    """The `readOnly` inputs of `version` that the service already has: they cannot change."""
    properties = version.inputs_schema.get("properties") or {}
    return frozenset(
        name for name, prop in properties.items() if prop.get("readOnly") and name in service.inputs
    )


def carried_inputs(service: Service, version: TemplateVersion) -> dict:
    """The service's inputs that `version` still declares (what an upgrade carries over)."""
    properties = version.inputs_schema.get("properties") or {}
    return {name: value for name, value in service.inputs.items() if name in properties}


def latest_expiry(service: Service) -> datetime | None:
    """The latest expiry the service may be extended to, when it expires at all: its
    template's maximum lifetime from its creation."""
    limit = service.template_version.lifetime_max
    if service.expires_at is None or limit is None:
        return None
    return service.created_at + limit
