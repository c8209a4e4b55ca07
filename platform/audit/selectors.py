from django.db.models import QuerySet

from audit.models import AuditEvent


def visible_events(*, user) -> QuerySet[AuditEvent]:
    """The events `user` may read (see teams.permissions), newest first."""
    return AuditEvent.objects.restrict(user)
