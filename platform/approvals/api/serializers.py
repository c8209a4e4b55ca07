from rest_framework import serializers

from approvals.models import Approval
from core.fields import StrictCharField


class ApprovalSerializer(serializers.ModelSerializer):
    run = serializers.PrimaryKeyRelatedField(read_only=True)
    action = serializers.CharField(source="run.action", read_only=True)
    service = serializers.PrimaryKeyRelatedField(read_only=True)
    service_name = serializers.CharField(source="service.name", read_only=True)
    team = serializers.SlugRelatedField(source="service.team", slug_field="slug", read_only=True)
    template = serializers.CharField(source="run.template_version.template.slug", read_only=True)
    template_version = serializers.CharField(source="run.template_version.version", read_only=True)
    inputs = serializers.JSONField(source="run.inputs", read_only=True)
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    decided_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="who decided; null while pending",
    )

    class Meta:
        model = Approval
        fields = [
            "id",
            "status",
            "run",
            "action",
            "service",
            "service_name",
            "team",
            "template",
            "template_version",
            "inputs",
            "changes",
            "approvers",
            "requested_by",
            "created_at",
            "expires_at",
            "decided_by",
            "decided_at",
            "comment",
        ]
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer):
    comment = StrictCharField(
        required=False, allow_blank=True, default="", help_text="required to reject"
    )
