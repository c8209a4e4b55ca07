from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import channels, presentation
from catalog.approval import ACTIONS
from catalog.models import Template, TemplateVersion


class TemplateLifetimeSerializer(serializers.Serializer):
    default = serializers.CharField(help_text="as the manifest declares it, e.g. 14d")
    max = serializers.CharField(help_text="the longest its team may extend it to, from creation")
    default_seconds = serializers.IntegerField()
    max_seconds = serializers.IntegerField()
    text = serializers.CharField()


class TemplateApprovalConditionSerializer(serializers.Serializer):
    input = serializers.CharField()
    title = serializers.CharField()
    values = serializers.ListField(child=serializers.JSONField())


class TemplateApprovalSerializer(serializers.Serializer):
    approvers = serializers.CharField(help_text='"platform" or the slug of the approving team')
    approvers_label = serializers.CharField(help_text="who decides, in words")
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=ACTIONS), help_text="the actions that may wait"
    )
    always = serializers.BooleanField(help_text="false: only when the conditions hold")
    conditions = TemplateApprovalConditionSerializer(
        many=True, help_text="every one holds: the input has one of the values"
    )
    expires_seconds = serializers.IntegerField(help_text="undecided requests lapse after this")
    text = serializers.CharField()


class TemplateHostChoiceSerializer(serializers.Serializer):
    input = serializers.CharField()
    title = serializers.CharField()
    inventory = serializers.CharField()
    group = serializers.CharField()


class TemplateChangelogEntrySerializer(serializers.Serializer):
    version = serializers.CharField()
    changes = serializers.ListField(child=serializers.CharField(), help_text="Markdown lines")


class TemplateTargetsSerializer(serializers.Serializer):
    inventory = serializers.CharField()
    group = serializers.CharField()


class TemplateProvenanceSerializer(serializers.Serializer):
    source = serializers.CharField(  # type: ignore[assignment]  # a field named `source`
        allow_null=True, help_text="the source's name"
    )
    commit = serializers.CharField(help_text="the full SHA; '' for a folder source")
    author = serializers.CharField(help_text="the commit's author")
    date = serializers.DateTimeField(allow_null=True, help_text="the commit's date")
    path = serializers.CharField(help_text="the template's folder within the source")


class TemplatePreviewSerializer(serializers.Serializer):
    version = serializers.CharField()
    inputs = serializers.JSONField(help_text="the preview version's input schema")
    provenance = TemplateProvenanceSerializer()


class TemplateListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        # The summaries of the whole page at once (catalog.presentation), for its items.
        templates = list(data.all() if hasattr(data, "all") else data)
        if isinstance(self.child, TemplateSerializer):
            self.child.summaries = presentation.template_summaries(templates)
        return super().to_representation(templates)


class TemplateSerializer(serializers.ModelSerializer):
    """A template and what it gives and asks: catalog.presentation's summary, which the
    template's page shows too."""

    version = serializers.CharField(
        source="current_version.version",
        allow_null=True,
        help_text="what everyone gets; null while only a preview version exists",
    )
    inputs = serializers.JSONField(
        source="current_version.inputs_schema", allow_null=True, help_text="of `version`"
    )
    outputs = serializers.JSONField(
        source="current_version.outputs", allow_null=True, help_text="of `version`"
    )
    preview_version = serializers.SerializerMethodField(
        help_text="the version a preview source offers its audience (platform engineers and "
        "the source's teams) until promotion; null for everyone else, or when there is none"
    )
    retired = serializers.SerializerMethodField()
    icon = serializers.SerializerMethodField(help_text="the name of a built-in icon")
    lifetime = serializers.SerializerMethodField(
        help_text="how long a service lives before it is deprovisioned; null: until asked"
    )
    approval = serializers.SerializerMethodField(
        help_text="which requests wait for an approver, and who; null: none"
    )
    credentials = serializers.SerializerMethodField(
        help_text="the names of the credentials its runs are given (never their values)"
    )
    targets = serializers.SerializerMethodField(
        help_text="{inventory, group}: the hosts its runs reach, or null; inputs with "
        "x-gangplank-choices pick hosts of such a group (host_choices)"
    )
    host_choices = serializers.SerializerMethodField(
        help_text="the inputs that pick hosts, and the group they pick from"
    )
    changelog = serializers.SerializerMethodField(help_text="newest first")
    provenance = serializers.SerializerMethodField(
        help_text="where the current version was read: its source, commit, author, date, path"
    )

    class Meta:
        model = Template
        list_serializer_class = TemplateListSerializer
        fields = [
            "slug",
            "name",
            "description",
            "version",
            "category",
            "icon",
            "inputs",
            "outputs",
            "retired",
            "lifetime",
            "approval",
            "credentials",
            "targets",
            "host_choices",
            "changelog",
            "provenance",
            "preview_version",
        ]

    # By template pk: a list's are built at once (TemplateListSerializer), one's on demand.
    summaries: dict[int, presentation.TemplateSummary] | None = None

    def _summary(self, template: Template) -> presentation.TemplateSummary:
        if self.summaries is None or template.pk not in self.summaries:
            self.summaries = presentation.template_summaries([template])
        return self.summaries[template.pk]

    def get_retired(self, template: Template) -> bool:
        return template.retired_at is not None

    def get_icon(self, template: Template) -> str:
        return self._summary(template).icon

    @extend_schema_field(TemplateLifetimeSerializer(allow_null=True))
    def get_lifetime(self, template: Template) -> dict | None:
        lifetime = self._summary(template).lifetime
        return None if lifetime is None else TemplateLifetimeSerializer(lifetime).data

    @extend_schema_field(TemplateApprovalSerializer(allow_null=True))
    def get_approval(self, template: Template) -> dict | None:
        approval = self._summary(template).approval
        return None if approval is None else TemplateApprovalSerializer(approval).data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_credentials(self, template: Template) -> list[str]:
        return [credential.name for credential in self._summary(template).credentials]

    @extend_schema_field(TemplateTargetsSerializer(allow_null=True))
    def get_targets(self, template: Template) -> dict | None:
        return self._summary(template).targets

    @extend_schema_field(TemplateHostChoiceSerializer(many=True))
    def get_host_choices(self, template: Template) -> list[dict]:
        choices = self._summary(template).host_choices
        return list(TemplateHostChoiceSerializer(choices, many=True).data)

    @extend_schema_field(TemplateChangelogEntrySerializer(many=True))
    def get_changelog(self, template: Template) -> list[dict]:
        entries = self._summary(template).changelog
        return list(TemplateChangelogEntrySerializer(entries, many=True).data)

    @extend_schema_field(TemplatePreviewSerializer(allow_null=True))
    def get_preview_version(self, template: Template) -> dict | None:
        request = self.context.get("request")
        if request is None or not channels.user_sees_preview(template=template, user=request.user):
            return None
        version = template.preview_version
        return {
            "version": version.version if version else "",
            "inputs": version.inputs_schema if version else {},
            "provenance": _provenance(version),
        }

    @extend_schema_field(TemplateProvenanceSerializer)
    def get_provenance(self, template: Template) -> dict:
        return _provenance(template.current_version)


def _provenance(version: TemplateVersion | None) -> dict:
    return {
        "source": version.source.name if version and version.source else None,
        "commit": version.commit if version else "",
        "author": version.commit_author if version else "",
        "date": serializers.DateTimeField().to_representation(version.commit_date)
        if version and version.commit_date
        else None,
        "path": version.path if version else "",
    }
