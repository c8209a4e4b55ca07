from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import selectors
from catalog.models import CatalogSource, SourceKind
from core.fields import SlugField, StrictCharField
from credentials.models import Credential
from teams.models import Team


class CatalogSourceSerializer(serializers.Serializer):
    """A catalogue source as platform engineers read and write it. The webhook secret is
    written (or generated) once and never read back."""

    id = serializers.IntegerField(read_only=True)
    name = StrictCharField(max_length=100, help_text="a slug, unique")
    kind = serializers.ChoiceField(
        choices=SourceKind.choices,
        required=False,
        help_text="git (the default; the only kind made here) or folder (the server's "
        "catalogue folder, made by the sync)",
    )
    url = StrictCharField(
        max_length=500,
        help_text="https://, http://, ssh://, user@host:path, git:// or file://; no password",
    )
    branch = StrictCharField(max_length=200, required=False, help_text="a branch or a tag")
    path = StrictCharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="the folder inside the repository that holds the templates' folders",
    )
    credential = SlugField(
        noun="credential",
        slug_field="name",
        queryset=Credential.objects.all(),
        required=False,
        allow_null=True,
        help_text="an ssh, token or password credential's name (GET /api/credentials/)",
    )
    host_keys = StrictCharField(
        required=False,
        allow_blank=True,
        help_text="ssh URLs: the server's public keys, one '<type> <base64>' a line",
    )
    preview = serializers.BooleanField(
        required=False,
        help_text="a channel: each sync's new versions are previews for platform engineers and "
        "`teams` until promoted; false releases the pending previews at once",
    )
    teams = SlugField(
        noun="team",
        queryset=Team.objects.all(),
        many=True,
        required=False,
        help_text="the teams that see a preview source's templates",
    )
    commit = serializers.CharField(read_only=True, help_text="the commit last read")
    synced_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_error = serializers.CharField(read_only=True, help_text="'' when the last sync worked")
    last_attempt_at = serializers.DateTimeField(read_only=True, allow_null=True)
    promoted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    webhook_url = serializers.SerializerMethodField(
        help_text="where the forge sends pushes; null for the folder source, which takes none"
    )
    templates = serializers.SerializerMethodField(help_text="how many templates it offers")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_webhook_url(self, source: CatalogSource) -> str | None:
        if source.kind == SourceKind.FOLDER:
            return None
        return selectors.webhook_url(source=source)

    def get_templates(self, source: CatalogSource) -> int:
        counted = getattr(source, "template_count", None)
        return counted if counted is not None else source.templates.count()

    def to_representation(self, instance: CatalogSource) -> dict:
        data = super().to_representation(instance)
        data["credential"] = instance.credential.name if instance.credential else None
        data["teams"] = sorted(team.slug for team in instance.teams.all())
        return data


class CatalogSourceCreateSerializer(CatalogSourceSerializer):
    secret = StrictCharField(
        required=False,
        write_only=True,
        trim_whitespace=False,
        help_text="the webhook secret; left out, one is generated. Answered once, here.",
    )


class CatalogSourceCreatedSerializer(CatalogSourceSerializer):
    secret = serializers.CharField(help_text="the webhook secret: shown this once only")


class SyncRequestSerializer(serializers.Serializer):
    force = serializers.BooleanField(
        default=False, help_text="accept a history that was rewritten (a force-push)"
    )


class SyncQueuedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class RotateSecretSerializer(serializers.Serializer):
    secret = StrictCharField(
        required=False,
        trim_whitespace=False,
        help_text="the new webhook secret; left out, one is generated",
    )


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="the new webhook secret: shown this once only")


class PromoteSerializer(serializers.Serializer):
    commit = StrictCharField(
        required=False,
        allow_blank=True,
        help_text="if given, the commit the caller reviewed: it must be the source's current one",
    )
