"""The audit trail's writes: `record` writes one event, inside the caller's transaction.

Who and from where come from the request being served (`audit.context`); outside a
request (beat, workers) the actor is the system unless a user is given.
"""

from typing import Any

from django.db import models

from audit import context
from audit.models import AuditEvent
from core.types import AnyUser


def record(
    *,
    action: str,
    actor: AnyUser | None = None,
    obj: models.Model | None = None,
    team: Any = None,
    changes: dict | None = None,
    label: str = "",
) -> AuditEvent:
    origin = context.current()
    user = actor if actor is not None and actor.is_authenticated else None
    if team is None and obj is not None:
        team = getattr(obj, "team", None)
    return AuditEvent.objects.create(
        actor=user.get_username() if user is not None else "",
        actor_id=user.pk if user is not None else None,
        token=origin.token,
        address=origin.address,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=(label or str(obj))[:200] if obj is not None else label[:200],
        team_id=team.pk if team is not None else None,
        team=team.slug if team is not None else "",
        changes=changes or {},
    )


def diff(before: dict, after: dict) -> dict:
    """The fields whose values differ, as field -> [before, after]."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
