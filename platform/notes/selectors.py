"""Reading service notes, always through teams.permissions."""

from django.db.models import QuerySet

from core.types import AnyUser
from notes.models import ServiceNote
from provisioning.models import Service
from teams import permissions

THREAD_LIMIT = 50


def notes_of(*, user: AnyUser, service: Service) -> QuerySet[ServiceNote]:
    """The service's notes the user may read, oldest first."""
    return (
        ServiceNote.objects.restrict(user)
        .filter(service=service)
        .select_related("author")
        .order_by("created_at", "pk")
    )


def newest_notes(*, user: AnyUser, service: Service, limit: int) -> list[ServiceNote]:
    """The service's newest `limit` notes the user may read, newest first (one query)."""
    return list(notes_of(user=user, service=service).order_by("-created_at", "-pk")[:limit])


def thread(
    *,
    user: AnyUser,
    service: Service,
    newest: list[ServiceNote] | None = None,
    limit: int = THREAD_LIMIT,
) -> dict:
    """The service page's Notes section: the newest `limit` notes, oldest first, whether
    earlier ones are left out, and whether the user may write one.

    `newest` is the service's newest notes, newest first, when the caller already has them
    (more than `limit` of them when there are); otherwise they are fetched (one more query).
    """
    if newest is None:
        newest = newest_notes(user=user, service=service, limit=limit + 1)
    return {
        "notes": newest[:limit][::-1],
        "more": len(newest) > limit,
        "limit": limit,
        "can_write": permissions.can(user, permissions.CHANGE, service),
    }
