from rest_framework import serializers

from core.fields import StrictCharField
from notes.models import ServiceNote


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_name", read_only=True)
    html = serializers.CharField(read_only=True, help_text="the body rendered and sanitised")

    class Meta:
        model = ServiceNote
        fields = ["id", "author", "body", "html", "created_at"]
        read_only_fields = fields


class NoteInputSerializer(serializers.Serializer):
    """Only parses: what a note may hold is notes.services.add_note's rule."""

    body = StrictCharField(
        required=False, allow_blank=True, trim_whitespace=False, default="", help_text="Markdown"
    )
