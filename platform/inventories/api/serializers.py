from rest_framework import serializers

from core.fields import STRICT_FIELD_MAPPING, StrictCharField
from inventories.models import Host, Inventory


class HostSerializer(serializers.ModelSerializer):
    """Only parses: what a host may hold is inventories.validation's rule."""

    serializer_field_mapping = STRICT_FIELD_MAPPING

    port = serializers.IntegerField(default=22, help_text="1 to 65535")
    groups = serializers.ListField(
        child=StrictCharField(),
        default=list,
        help_text="group names (letters, digits, _); not all, ungrouped or targets",
    )
    variables = serializers.DictField(
        default=dict,
        help_text="host variables; of ansible_* only ansible_python_interpreter and "
        "ansible_become*",
    )
    host_key = StrictCharField(
        help_text="the host's public keys, one a line, '<type> <base64>' (as in known_hosts, "
        "without the host); a run refuses a host that shows another"
    )

    class Meta:
        model = Host
        fields = ["name", "address", "port", "groups", "variables", "host_key"]
        extra_kwargs = {"name": {"validators": []}}


class InventorySerializer(serializers.ModelSerializer):
    hosts = HostSerializer(many=True, read_only=True)
    templates = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="name", help_text="the templates that use it"
    )

    class Meta:
        model = Inventory
        fields = ["name", "description", "hosts", "templates", "created_at", "updated_at"]
        read_only_fields = fields


class InventoryInputSerializer(serializers.Serializer):
    """Only parses; inventories.services checks and writes. `hosts`, when given, is the
    whole set: hosts left out are removed."""

    name = StrictCharField(required=False, help_text="a slug, unique")
    description = StrictCharField(required=False, allow_blank=True)
    hosts = HostSerializer(many=True, required=False)
