"""What users ask of services and runs: every write the portal and the API make.

Each function checks the request, then changes the rows in one transaction; a queued run
is sent to the workers once that transaction commits. Here it is decided whether a run waits
for approval (approvals.services then holds it); the engine below (queueing) only queues.
"""

from datetime import datetime
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from approvals.services import request_approval, withdraw
from audit import services as audit
from catalog import channels
from catalog.approval import Rule
from catalog.models import Template, TemplateVersion
from core.errors import Conflict, InvalidRequest
from core.types import AnyUser
from provisioning import graph, rules, selectors
from provisioning import inputs as inputs_
from provisioning.models import Run, Service, ServiceEvent
from provisioning.queueing import audited_changes, queue_run, stop_unstarted_run
from provisioning.states import (
    RUN_IN_PROGRESS,
    RunAction,
    RunStatus,
    RunTrigger,
    ServiceStatus,
    is_custom,
)
from teams import permissions
from teams.models import Team

IN_PROGRESS = "A run of this service is already queued or running; wait for it or cancel it."


def request_service(
    *, user: AnyUser, template: Template, team: Team, name: str, inputs: dict
) -> Service:
    """Create a service and queue its provision run."""
    errors: dict = {}
    version = None
    retired = ["This template is retired or has not loaded; it takes no requests."]
    if template.retired_at is not None and template.preview_version_id is None:
        errors["template"] = retired
    if not permissions.can(user, permissions.VIEW, team):
        errors["team"] = ["You can only request services for your own teams."]
    else:
        permissions.check(user, permissions.CHANGE, team)  # seen but not theirs: a 403
        # The requesting team's version: a preview only for its audience.
        version = channels.offered_version(template=template, team_id=team.pk, user=user)
        if version is None and "template" not in errors:
            errors["template"] = [f"No template named {template.slug} is offered to {team.slug}."]
        elif not channels.takes_requests(template=template, version=version):
            errors["template"] = retired  # a retired template's preview is its audience's
    if not rules.is_valid_name(name):
        errors["name"] = [rules.NAME_RULE]
    elif _name_taken(team=team, name=name):
        errors["name"] = [f"{team.slug} already has a service named {name}."]
    secrets = ""
    try:
        if version:
            inputs, secrets = inputs_.for_request(
                version=version, given=inputs, user=user, team=team
            )
    except InvalidRequest as exc:
        errors.update(exc.errors)
    if errors:
        raise InvalidRequest(errors)
    version = cast(TemplateVersion, version)  # a requestable template has one
    lifetime = version.lifetime_default
    try:
        with transaction.atomic():
            _check_quota(team=team, template=template)
            service = Service.objects.create(
                name=name,
                team=team,
                template=template,
                template_version=version,
                inputs=inputs,
                secrets=secrets,
                created_by=cast(User, user),
                expires_at=timezone.now() + lifetime if lifetime else None,
            )
            graph.sync(service=service, inputs=inputs, version=version)
            audit.record(
                action="service.requested",
                actor=user,
                obj=service,
                changes={"template": [None, f"{template.slug} {version.version}"]},
            )
            _queue(
                service=service,
                action=RunAction.PROVISION,
                user=user,
                inputs=inputs,
                secrets=secrets,
            )
    except IntegrityError as exc:  # a concurrent request took the name first
        if _name_taken(team=team, name=name):
            raise InvalidRequest(
                {"name": [f"{team.slug} already has a service named {name}."]}
            ) from exc
        raise
    return service


def _check_quota(*, team: Team, template: Template) -> None:
    """Refuse a service over the team's quotas. The team's row is locked until the
    transaction ends, so two requests cannot both take the last place."""
    Team.objects.select_for_update().get(pk=team.pk)
    quotas = team.quotas.filter(Q(template__isnull=True) | Q(template=template))
    for quota in quotas.order_by("template_id"):
        live = Service.objects.filter(team=team).exclude(status=ServiceStatus.DEPROVISIONED)
        scope = "services"
        if quota.template_id:
            live, scope = live.filter(template=template), f"{template.name} services"
        count = live.count()
        if count >= quota.max_services:
            raise InvalidRequest(
                {"team": [f"{team.name} has reached its quota of {quota.max_services} live "
                          f"{scope}: it has {count}."]}
            )  # fmt: skip


def _name_taken(*, team: Team, name: str) -> bool:
    return (
        Service.objects.filter(team=team, name=name)
        .exclude(status=ServiceStatus.DEPROVISIONED)
        .exists()
    )


def update_service(*, user: AnyUser, service: Service, inputs: dict) -> Run:
    """Run the update playbook with new inputs; they become the service's on success."""
    _check_action(user=user, service=service, action=RunAction.UPDATE)
    version = service.template_version
    inputs, secrets = inputs_.for_change(service=service, version=version, given=inputs, user=user)
    return queue_checked(
        service=service, action=RunAction.UPDATE, user=user, inputs=inputs, secrets=secrets
    )


def upgrade_service(*, user: AnyUser, service: Service, inputs: dict | None = None) -> Run:
    """Run the newest version's update playbook; inputs carry over, new defaults fill in."""
    _check_action(user=user, service=service, action=RunAction.UPGRADE)
    target = rules.upgrade_target(service)
    if target is None:
        raise Conflict(f"{service.name} is on the newest version of its template.")
    inputs, secrets = inputs_.for_change(
        service=service, version=target, given=inputs or {}, user=user
    )
    return queue_checked(
        service=service,
        action=RunAction.UPGRADE,
        user=user,
        inputs=inputs,
        secrets=secrets,
        version=target,
    )


def preview_change(*, user: AnyUser, service: Service, inputs: dict, upgrade: bool = False) -> Run:
    """Run the update (or upgrade) in check mode with diff: nothing is applied."""
    _check_action(user=user, service=service, action=RunAction.PREVIEW)
    version: TemplateVersion | None = service.template_version
    if upgrade:
        version = rules.upgrade_target(service)
        if version is None:
            raise Conflict(f"{service.name} is on the newest version of its template.")
    inputs, secrets = inputs_.for_change(service=service, version=version, given=inputs, user=user)
    return queue_checked(
        service=service,
        action=RunAction.PREVIEW,
        user=user,
        inputs=inputs,
        secrets=secrets,
        version=version,
    )


def apply_preview(*, user: AnyUser, run: Run) -> Run:
    """Queue the update (or upgrade) the preview `run` checked, with the inputs and secrets it
    checked: taken from the run, never sent back by the caller."""
    check_permission(user=user, service=run.service)
    with transaction.atomic():
        # Locked and read afresh: of two applies of one preview at once, the second waits,
        # then finds the first's run the service's latest and is refused.
        service = (
            Service.objects.select_for_update(of=("self",))
            .select_related(
                "team", "template__current_version", "template__preview_version", "template_version"
            )
            .get(pk=run.service_id)
        )
        if refusal := rules.apply_refusal(run=run, service=service):
            raise Conflict(refusal)
        return queue_checked(
            service=service,
            action=rules.applied_action(run=run, service=service),
            user=user,
            inputs=run.inputs,
            secrets=run.secrets,
            version=run.template_version,
            preview=run,
        )


def deprovision_service(
    *,
    user: AnyUser,
    service: Service,
    confirm: str | None = None,
    trigger: str = RunTrigger.USER,
) -> Run:
    """Run the deprovision playbook; the service stays as history and frees its name.
    Refused while live services use it (provisioning.cascade deprovisions them first)."""
    if confirm is not None and confirm != service.name:
        raise InvalidRequest({"confirm": [f"Type the service's name, {service.name}, to confirm."]})
    _check_action(user=user, service=service, action=RunAction.DEPROVISION)
    users = list(graph.live_dependents([service.pk]).select_related("team").order_by("pk"))
    if users:
        named = selectors.named_for(user=user, services=users)
        raise Conflict(
            f"{service.name} is used by {named}: deprovision {'it' if len(users) == 1 else 'them'}"
            " first, or cascade to deprovision them before it."
        )
    return queue_checked(
        service=service,
        action=RunAction.DEPROVISION,
        user=user,
        inputs=service.inputs,
        secrets=service.secrets,
        trigger=trigger,
    )


def extend_service(*, user: AnyUser, service: Service, expires_at: datetime) -> Service:
    """Move the service's expiry, up to its template's maximum lifetime from creation."""
    check_permission(user=user, service=service)
    latest = rules.latest_expiry(service)
    if latest is None:
        raise InvalidRequest({"expires_at": ["This service does not expire."]})
    if service.status == ServiceStatus.DEPROVISIONED:
        raise Conflict(f"{service.name} is deprovisioned.")
    if expires_at <= timezone.now():
        raise InvalidRequest({"expires_at": ["Must be in the future."]})
    if expires_at > latest:
        raise InvalidRequest({"expires_at": [f"Must be at most {latest:%Y-%m-%d %H:%M} UTC."]})
    with transaction.atomic():
        before = service.expires_at
        Service.objects.filter(pk=service.pk).update(expires_at=expires_at, expiry_warned_at=None)
        ServiceEvent.objects.create(
            service=service,
            kind=ServiceEvent.Kind.EXTENDED,
            actor=cast(User, user),
            message=f"expiry moved from {before:%Y-%m-%d %H:%M} to {expires_at:%Y-%m-%d %H:%M}",
        )
        audit.record(
            action="service.extended",
            actor=user,
            obj=service,
            changes={"expires_at": [before and before.isoformat(), expires_at.isoformat()]},
        )
    service.expires_at, service.expiry_warned_at = expires_at, None
    return service


def cancel_run(*, user: AnyUser, run: Run) -> Run:
    """Cancel a run that has not started at once; ask the worker to stop a running one."""
    check_permission(user=user, service=run.service)
    with transaction.atomic():
        # Only a pending approval is withdrawn (a conditional update): whatever the run's
        # status now, not as it was when `run` was read.
        withdraw(run=run, user=user)
        if not stop_unstarted_run(
            run=run, actor=user, reason=f"Canceled by {user} before it started."
        ) and not Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            cancel_requested_at=timezone.now(), canceled_by=user
        ):
            raise Conflict(f"Run {run.pk} has already ended.")
        audit.record(action="run.cancel", actor=user, obj=run, team=run.service.team)
    run.refresh_from_db()
    return run


def retry_run(*, user: AnyUser, run: Run) -> Run:
    """A new run of the same action with the same inputs, linked to the one it retries."""
    service = run.service
    check_permission(user=user, service=service)
    if refusal := rules.retry_refusal(run=run, service=service):
        raise Conflict(refusal)
    return queue_checked(
        service=service,
        action=run.action,
        user=user,
        inputs=run.inputs,
        secrets=run.secrets,
        version=run.template_version,
        retry_of=run,
        parameters=run.parameters,
    )


def check_permission(*, user: AnyUser, service: Service) -> None:
    permissions.check(user, permissions.CHANGE, service)


def _check_action(*, user: AnyUser, service: Service, action: str) -> None:
    check_permission(user=user, service=service)
    if refusal := rules.action_refusal(service, action):
        raise Conflict(refusal)


def queue_checked(*, service: Service, **kwargs: Any) -> Run:
    try:
        with transaction.atomic():
            return _queue(service=service, **kwargs)
    except IntegrityError as exc:
        if Run.objects.filter(service=service, status__in=RUN_IN_PROGRESS).exists():
            raise Conflict(IN_PROGRESS) from exc
        raise


def _queue(
    *,
    service: Service,
    action: str,
    user: AnyUser | None,
    inputs: dict,
    secrets: str,
    version: TemplateVersion | None = None,
    retry_of: Run | None = None,
    preview: Run | None = None,
    trigger: str = RunTrigger.USER,
    parameters: dict | None = None,
) -> Run:
    """Queue a user's run (inside the caller's transaction), or hold it for its approvers
    when the template's (or the custom action's) approval rule applies to it."""
    version = version or service.template_version
    rule = _approval_rule(
        service=service, version=version, action=action, inputs=inputs, parameters=parameters
    )
    run = queue_run(
        service=service,
        action=action,
        user=user,
        inputs=inputs,
        secrets=secrets,
        version=version,
        retry_of=retry_of,
        preview=preview,
        trigger=trigger,
        parameters=parameters,
        hold=rule is not None,
    )
    if rule is not None:
        request_approval(run=run, rule=rule, changes=audited_changes(run=run, service=service))
    return run


def _approval_rule(
    *,
    service: Service,
    version: TemplateVersion,
    action: str,
    inputs: dict,
    parameters: dict | None = None,
) -> Rule | None:
    """The version's approval rule when it applies to this run (for a change, to either the
    service's inputs or the new ones), else None. A custom action has its own rule, matched
    against its inputs beside the service's."""
    if is_custom(action):
        custom = version.actions.get(action)
        rule = custom.approval if custom else None
        candidates = [{**inputs, **(parameters or {})}]
    else:
        rule, candidates = version.approval_rule, [inputs, service.inputs]
    if rule and rule.applies(action=action, inputs=candidates):
        return rule
    return None
