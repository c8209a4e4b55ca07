from typing import cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from catalog.models import Template
from core.fields import SlugField, StrictCharField
from core.text import plain
from provisioning.models import Run, RunEvent, Service
from provisioning.rules import NAME_MAX_LENGTH, offered_actions, upgrade_target
from provisioning.selectors import Graph, Link, graph_of
from provisioning.states import RUN_IN_PROGRESS
from teams.models import Team
from teams.selectors import teams_to_request_for


class BlankAsNullCharField(serializers.CharField):
    """A text stored as "" for none (a CharField with blank=True), answered as null."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value):
        return super().to_representation(value) if value else None


class CustomActionSerializer(serializers.Serializer):
    """A custom action of the service's template the caller may run now."""

    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    destructive = serializers.BooleanField()
    inputs = serializers.JSONField(help_text="the JSON Schema of its inputs")
    url = serializers.URLField(help_text='POST {"inputs": {...}} here to run it')


class LastRunSerializer(serializers.ModelSerializer):
    """The service's latest run, enough to follow it: poll `url` until `status` ends."""

    url = serializers.HyperlinkedIdentityField(view_name="api:run-detail")

    class Meta:
        model = Run
        fields = ["id", "action", "status", "url"]
        read_only_fields = fields


class LinkSerializer(serializers.Serializer):
    """A service at the other end of an edge of the graph."""

    input = serializers.CharField(help_text="the input (of the service that uses) picking it")
    id = serializers.IntegerField(source="service.pk")
    name = serializers.CharField(source="service.name")
    team = serializers.CharField(source="service.team.slug")
    status = serializers.CharField(source="service.status")


class ServiceSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    template = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    template_version = serializers.CharField(source="template_version.version", read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    failed_action = BlankAsNullCharField(
        help_text="the action whose run failed (a built-in or a custom action's name); null "
        "when none did"
    )
    upgrade_available = serializers.SerializerMethodField()
    last_run = LastRunSerializer(read_only=True, allow_null=True)
    uses = serializers.SerializerMethodField(help_text="the services this one's inputs pick")
    uses_others = serializers.SerializerMethodField(
        help_text="how many more it uses, of teams you cannot see"
    )
    used_by = serializers.SerializerMethodField(help_text="the live services that use this one")
    used_by_others = serializers.SerializerMethodField(
        help_text="how many more use it, of teams you cannot see"
    )

    def _graph(self, service: Service) -> Graph:
        cached = getattr(service, "_graph_seen", None)
        if cached is None:
            cached = graph_of(service, user=self.context["request"].user)
            service._graph_seen = cached  # type: ignore[attr-defined]
        return cached

    @extend_schema_field(LinkSerializer(many=True))
    def get_uses(self, service: Service) -> list:
        return _links(self._graph(service).uses)

    def get_uses_others(self, service: Service) -> int:
        return self._graph(service).uses_others

    @extend_schema_field(LinkSerializer(many=True))
    def get_used_by(self, service: Service) -> list:
        return _links(self._graph(service).used_by)

    def get_used_by_others(self, service: Service) -> int:
        return self._graph(service).used_by_others

    actions = serializers.SerializerMethodField(
        help_text="the template's custom actions the caller may run now; empty when they may "
        "not change the service or a run is in progress"
    )

    @extend_schema_field(CustomActionSerializer(many=True))
    def get_actions(self, service: Service) -> list[dict]:
        last = service.last_run
        if service.deprovision_pending or (last is not None and last.status in RUN_IN_PROGRESS):
            return []
        offered = offered_actions(
            service.template_version, status=service.status, failed_action=service.failed_action
        )
        # The caller's teams are read once per answer, and only when there is an action.
        if not offered or service.team_id not in self._changeable_teams():
            return []
        request = self.context.get("request")
        return [
            {
                "name": action.name,
                "title": action.title,
                "description": action.description,
                "destructive": action.destructive,
                "inputs": action.inputs,
                "url": reverse(
                    "api:service-action", args=[service.pk, action.name], request=request
                ),
            }
            for action in offered
        ]

    def _changeable_teams(self) -> set[int]:
        context = cast(dict, self.context)
        if "changeable_teams" not in context:
            request = context.get("request")
            user = getattr(request, "user", None)
            context["changeable_teams"] = (
                set(teams_to_request_for(user=user).values_list("pk", flat=True)) if user else set()
            )
        return context["changeable_teams"]

    def get_upgrade_available(self, service: Service) -> str | None:
        target = upgrade_target(service)
        return target.version if target else None

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "team",
            "template",
            "template_version",
            "status",
            "inputs",
            "outputs",
            "created_by",
            "created_at",
            "last_run",
            "failed_action",
            "expires_at",
            "drifted",
            "drift",
            "drift_checked_at",
            "upgrade_available",
            "uses",
            "uses_others",
            "used_by",
            "used_by_others",
            "dependency_changed",
            "actions",
        ]
        read_only_fields = fields


def _links(links: list[Link]) -> list:
    return list(LinkSerializer(links, many=True).data)


SECRET_HELP = 'input name -> value; a secret input sent as "$encrypted$" keeps its value'


class InputsSerializer(serializers.Serializer):
    inputs = serializers.JSONField(required=False, default=dict, help_text=SECRET_HELP)


class ActionInputsSerializer(serializers.Serializer):
    inputs = serializers.JSONField(
        required=False, default=dict, help_text="the action's input name -> value"
    )


class PreviewSerializer(InputsSerializer):
    upgrade = serializers.BooleanField(
        required=False, default=False, help_text="preview the upgrade to the newest version"
    )


class DeprovisionSerializer(serializers.Serializer):
    confirm = StrictCharField(
        required=False,
        default=None,
        help_text="the service's name, if you want it checked (required with `cascade`)",
    )
    cascade = serializers.BooleanField(
        required=False,
        default=False,
        help_text="deprovision the live services that use it first, each as its own run",
    )


class ExtendSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField()


class ServiceRequestSerializer(serializers.Serializer):
    """Parses a request; the rules are request_service's (catalog schema, names, teams)."""

    template = SlugField(
        noun="template",
        queryset=Template.objects.none(),
        help_text="a template's slug (GET /api/templates/)",
    )
    team = SlugField(
        noun="team",
        queryset=Team.objects.none(),
        help_text="the slug of one of your teams (GET /api/teams/)",
    )
    name = StrictCharField(max_length=NAME_MAX_LENGTH)
    inputs = serializers.JSONField(required=False, default=dict)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None:  # schema generation
            return
        user = request.user
        self.fields["template"].queryset = Template.objects.restrict(user).select_related(  # type: ignore[attr-defined]
            "current_version", "preview_version"
        )
        self.fields["team"].queryset = teams_to_request_for(user=user)  # type: ignore[attr-defined]


class RunSerializer(serializers.ModelSerializer):
    template_version = serializers.CharField(source="template_version.version", read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Run
        fields = [
            "id",
            "service",
            "action",
            "status",
            "trigger",
            "template_version",
            "inputs",
            "parameters",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "log_archived_at",
            "rc",
            "outputs",
            "changes",
            "skipped_tasks",
            "error",
            "retry_of",
            "preview",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "skipped_tasks": {
                "help_text": "in check mode, the tasks it skipped, whose effect it could not "
                "predict: [{task, host, reason}]"
            },
            "preview": {"help_text": "the preview whose inputs this run applies"},
        }


class RunEventSerializer(serializers.ModelSerializer):
    text = serializers.SerializerMethodField(
        help_text="`stdout` as plain text: without ANSI colour codes, lines ending in \\n"
    )

    def get_text(self, event: RunEvent) -> str:
        return plain(event.stdout)

    class Meta:
        model = RunEvent
        fields = ["counter", "event", "task", "host", "stdout", "text", "created_at"]
        read_only_fields = fields
        extra_kwargs = {"stdout": {"help_text": "what Ansible printed, with its ANSI colours"}}
