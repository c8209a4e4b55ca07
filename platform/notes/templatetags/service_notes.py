"""The service page's notes: `{% notes_and_timeline as shown %}` gives its Notes section
(`shown.thread`, `shown.note_form`) and its timeline with the notes in it (`shown.timeline`),
so that the provisioning app's page shows notes without knowing them."""

from django import template

from notes.forms import NoteForm
from notes.presentation import notes_and_timeline as _notes_and_timeline

register = template.Library()


@register.simple_tag(takes_context=True)
def notes_and_timeline(context) -> dict:
    """Reads `service` and `timeline` (its runs and events) from the page's context, and
    `note_form`, the notes form as posted when it was refused."""
    shown = _notes_and_timeline(
        user=context["request"].user, service=context["service"], timeline=context["timeline"]
    )
    return {**shown, "note_form": context.get("note_form") or NoteForm()}
