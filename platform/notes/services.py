"""Writing service notes."""

from typing import cast

from django.contrib.auth.models import User
from django.db import transaction

from audit import services as audit
from core.errors import InvalidRequest
from core.types import AnyUser
from notes.models import MAX_BODY, ServiceNote
from provisioning.models import Service
from teams import permissions


def add_note(*, user: AnyUser, service: Service, body: str) -> ServiceNote:
    """Add a note to the service's thread: whoever may change the service may write one."""
    permissions.check(user, permissions.CHANGE, service)
    body = (body or "").strip()
    if not body:
        raise InvalidRequest({"body": ["Write something first."]})
    if len(body) > MAX_BODY:
        raise InvalidRequest(
            {"body": [f"A note is at most {MAX_BODY:,} characters (this one has {len(body):,})."]}
        )
    with transaction.atomic():
        note = ServiceNote.objects.create(service=service, author=cast(User, user), body=body)
        audit.record(
            action="service.note",
            actor=user,
            obj=service,
            changes={"note": [None, note.pk]},
        )
    return note
