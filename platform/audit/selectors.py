from collections import defaultdict
from collections.abc import Iterable

from django.apps import apps
from django.db.models import QuerySet
from django.urls import reverse

from audit.models import AuditEvent
from audit.objects import BY_LABEL
from core.types import AnyUser


def visible_events(*, user: AnyUser) -> QuerySet[AuditEvent]:
    """The events `user` may read (see teams.permissions), newest first."""
    return AuditEvent.objects.restrict(user)


def object_links(*, events: Iterable[AuditEvent], user: AnyUser) -> dict[tuple[str, str], str]:
    """(object_type, object_id) -> the page of that object, for those of `events` that still
    exist, have a page and that `user` may see: one query per kind of object, not per event."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        kind = BY_LABEL.get(event.object_type)
        if kind is not None and kind.url_name and event.object_id.isdigit():
            wanted[kind.label].add(int(event.object_id))
    links = {}
    for label, pks in sorted(wanted.items()):
        kind = BY_LABEL[label]
        rows = apps.get_model(label).objects.restrict(user).filter(pk__in=pks)
        for pk, value in rows.values_list("pk", kind.url_field):
            links[(label, str(pk))] = reverse(kind.url_name, kwargs={kind.url_field: value})
    return links
