"""The service's state machine: move a service through SERVICE_TRANSITIONS and record each
move on its timeline and the audit trail. Inside the caller's transaction; the queue and the
worker both move services through here."""

from typing import Any, cast

from django.contrib.auth.models import User
from django.utils import timezone

from audit import services as audit
from core import states
from core.types import AnyUser
from provisioning.models import Run, Service, ServiceEvent
from provisioning.states import SERVICE_TRANSITIONS


def set_service_status(
    *,
    service: Service,
    to: str,
    run: Run | None = None,
    actor: AnyUser | None = None,
    message: str = "",
    from_status: str | None = None,
    **fields: Any,
) -> bool:
    """Move a service through the transition table and record it on its timeline and the
    audit trail. `service` (its team loaded, ideally) names it on the trail; its status is
    `from_status`, else read from the database, never taken from the object."""
    queryset = Service.objects.filter(pk=service.pk)
    if from_status is None:
        from_status = queryset.values_list("status", flat=True).first()
    moved = states.move(
        queryset.filter(status=from_status),
        table=SERVICE_TRANSITIONS,
        to=to,
        updated_at=timezone.now(),
        **fields,
    )
    if moved and from_status is not None:
        ServiceEvent.objects.create(
            service_id=service.pk,
            kind=ServiceEvent.Kind.STATUS,
            run=run,
            from_status=from_status,
            to_status=to,
            actor=cast(User | None, actor),  # signed in: the views require it
            message=message,
        )
        audit.record(
            action="service.status",
            actor=actor,
            obj=service,
            changes={"status": [from_status, to]},
        )
    return bool(moved)
