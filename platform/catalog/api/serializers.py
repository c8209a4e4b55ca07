from rest_framework import serializers

from catalog.models import Template


class TemplateSerializer(serializers.ModelSerializer):
    version = serializers.CharField(source="current_version.version")
    inputs = serializers.JSONField(source="current_version.inputs_schema")
    outputs = serializers.JSONField(source="current_version.outputs")
    retired = serializers.SerializerMethodField()
    credentials = serializers.SlugRelatedField(
        slug_field="name",
        many=True,
        read_only=True,
        help_text="the names of the credentials its runs are given (never their values)",
    )
    targets = serializers.SerializerMethodField(
        help_text="{inventory, group}: the hosts its runs reach, or null; inputs with "
        "x-gangplank-choices pick hosts of such a group"
    )

    class Meta:
        model = Template
        fields = [
            "slug",
            "name",
            "description",
            "version",
            "category",
            "inputs",
            "outputs",
            "retired",
            "credentials",
            "targets",
        ]

    def get_retired(self, template: Template) -> bool:
        return template.retired_at is not None

    def get_targets(self, template: Template) -> dict | None:
        return (
            template.current_version.manifest.get("targets") if template.current_version else None
        )
