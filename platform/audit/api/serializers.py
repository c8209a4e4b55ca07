from rest_framework import serializers

from audit import export as exports
from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", *exports.FIELDS]
        read_only_fields = fields
