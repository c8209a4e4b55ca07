"""The notes part of the service page: its Notes section and the notes on its timeline, from
one read of the service's newest notes."""

from notes import selectors
from notes.models import ServiceNote
from provisioning import presentation
from provisioning.models import Service
from provisioning.presentation import TimelineEntry

TIMELINE_NOTE = "notes/_timeline_note.html"


def notes_and_timeline(
    *, user, service: Service, timeline: list[TimelineEntry] | None = None
) -> dict:
    """The Notes section and the timeline with the notes in it, for the service page and the
    notes form's htmx answer alike: one fetch of the notes for both, so that each is
    rendered once. `timeline` is the service's own (runs and events), when the caller has it."""
    limit = max(selectors.THREAD_LIMIT + 1, presentation.TIMELINE_LIMIT)
    newest = selectors.newest_notes(user=user, service=service, limit=limit)
    if timeline is None:
        timeline = presentation.timeline(service)
    entries = [_entry(note) for note in newest[: presentation.TIMELINE_LIMIT]]
    return {
        "thread": selectors.thread(user=user, service=service, newest=newest),
        "timeline": presentation.merged(timeline, entries),
        "timeline_limit": presentation.TIMELINE_LIMIT,
    }


def _entry(note: ServiceNote) -> TimelineEntry:
    return TimelineEntry(
        at=note.created_at, who=note.author_name, kind="note", item=note, template=TIMELINE_NOTE
    )
