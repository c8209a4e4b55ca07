"""The audit trail: `record` writes one event, inside the caller's transaction.

Who and from where come from the request being served (set by `AuditContextMiddleware`
and by the API's token authentication); outside a request (beat, workers) the actor is the
system unless a user is given.
"""

import contextvars
from dataclasses import dataclass, replace

from django.db import models

from core.addresses import client_address
from core.models import AuditEvent
from core.types import AnyUser


@dataclass(frozen=True)
class Origin:
    address: str | None = None
    token: str = ""
    user: AnyUser | None = None


_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar(
    "audit_origin", default=None
)
NOWHERE = Origin()


def record(
    *,
    action: str,
    actor: AnyUser | None = None,
    obj: models.Model | None = None,
    team=None,
    changes: dict | None = None,
    label: str = "",
) -> AuditEvent:
    origin = _origin.get() or NOWHERE
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    if team is None and obj is not None:
        team = getattr(obj, "team", None)
    return AuditEvent.objects.create(
        actor=actor.get_username() if actor and authenticated else "",
        actor_id=actor.pk if actor and authenticated else None,
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


def set_token(token_key: str) -> None:
    _origin.set(replace(_origin.get() or NOWHERE, token=token_key))


def request_user() -> AnyUser | None:
    """The signed-in user of the request being served, for forms that save without a view
    (Django's admin); None outside a request or when nobody is signed in."""
    user = (_origin.get() or NOWHERE).user
    return user if user is not None and user.is_authenticated else None


class AuditContextMiddleware:
    """Notes the client's address (behind trusted proxies only, see core.addresses) and
    user for the events recorded while serving its request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        origin = Origin(address=client_address(request), user=getattr(request, "user", None))
        reset = _origin.set(origin)
        try:
            return self.get_response(request)
        finally:
            _origin.reset(reset)
