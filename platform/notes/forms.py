from django import forms

from core.forms import BootstrapForm


class NoteForm(BootstrapForm):
    """Only parses: what a note may hold is notes.services.add_note's rule."""

    body = forms.CharField(
        label="Add a note",
        required=False,
        strip=False,
        help_text="Markdown: **bold**, _italic_, `code`, lists, links, tables.",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "An incident, a decision, a link…"}),
    )
