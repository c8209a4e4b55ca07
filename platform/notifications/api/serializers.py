from rest_framework import serializers

from core.fields import STRICT_FIELD_MAPPING, StrictCharField
from notifications.models import Delivery, Destination, Event


class DestinationSerializer(serializers.ModelSerializer):
    serializer_field_mapping = STRICT_FIELD_MAPPING
    url = StrictCharField(
        write_only=True, help_text="an apprise URL; it holds credentials and is never returned"
    )
    url_redacted = serializers.CharField(read_only=True)
    events = serializers.MultipleChoiceField(choices=Event.choices)

    class Meta:
        model = Destination
        fields = ["id", "name", "url", "url_redacted", "events", "created_at"]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["events"] = list(instance.events)
        return data


class DeliverySerializer(serializers.ModelSerializer):
    destination = serializers.CharField(source="destination.name", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "destination",
            "event",
            "service",
            "title",
            "status",
            "attempts",
            "error",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields
