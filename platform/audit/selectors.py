from django.db.models import QuerySet

from audit.models import AuditEvent
from core.types import AnyUser


def visible_events(*, user: AnyUser) -> QuerySet[AuditEvent]:
    """The events `user` may read (see teams.permissions), newest first."""
    return AuditEvent.objects.restrict(user)
