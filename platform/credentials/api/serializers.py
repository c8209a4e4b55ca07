from rest_framework import serializers

from core.fields import StrictCharField
from core.secrets import PLACEHOLDER
from credentials import selectors
from credentials.models import Credential, CredentialType


class CredentialSerializer(serializers.Serializer):
    """A credential as platform engineers read and write it: secret values never come back."""

    id = serializers.IntegerField(read_only=True)
    name = StrictCharField(max_length=100, help_text="a slug; fixed once created")
    type = serializers.ChoiceField(choices=CredentialType.choices, help_text="fixed once created")
    description = StrictCharField(required=False, allow_blank=True, default="")
    fields = serializers.DictField(  # type: ignore[assignment]  # a field named `fields`
        child=StrictCharField(allow_blank=True, allow_null=True, trim_whitespace=False),
        help_text=f"the type's fields (for env: its variables). Secret ones read back as "
        f"{PLACEHOLDER!r} when set; sending {PLACEHOLDER!r} or '' keeps the stored value, "
        "null clears an optional one.",
    )
    plain_variables = serializers.ListField(
        child=StrictCharField(),
        required=False,
        help_text="env only: the variables that are not secret (shown, not masked in runs)",
    )
    templates = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="the templates that use it"
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Credential) -> dict:
        return {
            "id": instance.pk,
            "name": instance.name,
            "type": instance.type,
            "description": instance.description,
            "fields": selectors.fields_of(instance),
            "plain_variables": selectors.plain_variables_of(instance),
            "templates": selectors.template_names(instance),
            "created_at": serializers.DateTimeField().to_representation(instance.created_at),
            "updated_at": serializers.DateTimeField().to_representation(instance.updated_at),
        }
