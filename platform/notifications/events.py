"""The news worth a message, each composed once: what happened to which service, who did
it, and a link back to the portal. Called inside the transaction that makes the news.

Messages name services, actions, people and errors, never inputs: a secret input cannot
reach a chat channel through them.
"""

from django.conf import settings
from django.urls import reverse

from core.types import AnyUser
from notifications.models import Event
from notifications.services import notify
from provisioning.states import CHECK_MODE_ACTIONS, RunStatus

# How a change run ended, when that is told (a canceled one is not).
RUN_ENDS_TOLD = (RunStatus.SUCCEEDED, RunStatus.FAILED)


def link(path: str) -> str:
    """An absolute URL of a portal page, from GANGPLANK_BASE_URL."""
    return settings.GANGPLANK_BASE_URL.rstrip("/") + path


def _service_link(service) -> str:
    return link(reverse("provisioning:service", args=[service.pk]))


def _who(user: AnyUser, fallback: str = "the platform") -> str:
    return user.get_username() if user is not None else fallback


def run_finished(*, run, status: str, error: str) -> None:
    """A change run succeeded or failed (previews and drift checks say nothing)."""
    if run.action in CHECK_MODE_ACTIONS or status not in RUN_ENDS_TOLD:
        return
    service = run.service
    who = _who(run.created_by, fallback=run.get_trigger_display().lower())
    body = (
        f"The {run.action_name} of {service} ({service.template.name} "
        f"{run.template_version.version}) {status}. Requested by {who}."
    )
    if status == RunStatus.FAILED and error:
        body += f"\nError: {error[:500]}"
    body += f"\n{link(reverse('provisioning:run', args=[run.pk]))}"
    notify(
        event=Event.RUN_FAILED if status == RunStatus.FAILED else Event.RUN_SUCCEEDED,
        team=service.team,
        title=f"[Gangplank] {run.action_name} of {service} {status}",
        body=body,
        service=service,
    )


def approval_requested(*, approval) -> None:
    """To the approving team (or, when platform engineers decide, to the requesting one)."""
    service = approval.service
    run = approval.run
    body = (
        f"{_who(approval.requested_by)} asks to {run.action_name} {service} "
        f"({service.template.name}). Decided by {approval.approvers_label} before "
        f"{approval.expires_at:%Y-%m-%d %H:%M} UTC."
    )
    if approval.changes:
        body += f"\nChanges: {', '.join(sorted(approval.changes))}."
    body += f"\n{link(reverse('approvals:detail', args=[approval.pk]))}"
    notify(
        event=Event.APPROVAL_REQUESTED,
        team=approval.approver_team or service.team,
        title=f"[Gangplank] approval requested: {run.action_name} of {service}",
        body=body,
        service=service,
    )


def approval_decided(*, approval, status: str, decided_by=None, comment: str = "") -> None:
    """To the requesting team: approved, rejected or lapsed."""
    service = approval.service
    action = approval.run.action_name
    by = f" by {decided_by.get_username()}" if decided_by is not None else ""
    body = f"The request of {_who(approval.requested_by)} to {action} {service} was {status}{by}."
    if comment:
        body += f"\nComment: {comment}"
    body += f"\n{link(reverse('approvals:detail', args=[approval.pk]))}"
    notify(
        event=Event.APPROVAL_DECIDED,
        team=service.team,
        title=f"[Gangplank] {action} of {service} {status}",
        body=body,
        service=service,
    )


def service_expiring(*, service) -> None:
    notify(
        event=Event.SERVICE_EXPIRING,
        team=service.team,
        title=f"[Gangplank] {service} expires soon",
        body=f"{service} expires at {service.expires_at:%Y-%m-%d %H:%M} UTC and will then be "
        f"deprovisioned. Extend it if it is still needed.\n{_service_link(service)}",
        service=service,
    )


def service_expired(*, service) -> None:
    notify(
        event=Event.SERVICE_EXPIRED,
        team=service.team,
        title=f"[Gangplank] {service} expired",
        body=f"{service} reached its expiry ({service.expires_at:%Y-%m-%d %H:%M} UTC): its "
        f"deprovision run is queued.\n{_service_link(service)}",
        service=service,
    )


def drift_detected(*, service, tasks: list[str]) -> None:
    notify(
        event=Event.DRIFT_DETECTED,
        team=service.team,
        title=f"[Gangplank] drift on {service}",
        body=f"The drift check of {service} found that an update would change: "
        f"{', '.join(tasks)}. An update with the same inputs puts it back.\n"
        f"{_service_link(service)}",
        service=service,
    )
