from rest_framework import serializers

from catalog.models import Template


class TemplateSerializer(serializers.ModelSerializer):
    version = serializers.CharField(source="current_version.version")
    inputs = serializers.JSONField(source="current_version.inputs_schema")
    outputs = serializers.JSONField(source="current_version.outputs")
    retired = serializers.SerializerMethodField()

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
        ]

    def get_retired(self, template: Template) -> bool:
        return template.retired_at is not None
