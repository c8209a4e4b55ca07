from rest_framework import serializers

from metrics.dora import seconds


class FiguresSerializer(serializers.Serializer):
    """The figures of a span (a week, or the whole window); durations in seconds."""

    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    days = serializers.FloatField()
    deployments = serializers.IntegerField()
    deployment_frequency = serializers.FloatField(help_text="successful changes per day")
    changes = serializers.IntegerField(help_text="change runs that succeeded or failed")
    failed_changes = serializers.IntegerField()
    change_failure_rate = serializers.FloatField(allow_null=True)
    lead_time_median = serializers.SerializerMethodField()
    lead_time_p90 = serializers.SerializerMethodField()
    restores = serializers.IntegerField()
    time_to_restore_median = serializers.SerializerMethodField()

    def get_lead_time_median(self, figures) -> float | None:
        return seconds(figures.lead_time_median)

    def get_lead_time_p90(self, figures) -> float | None:
        return seconds(figures.lead_time_p90)

    def get_time_to_restore_median(self, figures) -> float | None:
        return seconds(figures.time_to_restore_median)


class DoraSerializer(serializers.Serializer):
    team = serializers.SerializerMethodField(help_text="the team's slug; null for all")
    template = serializers.SerializerMethodField(help_text="the template's slug; null for all")
    days = serializers.IntegerField()
    total = FiguresSerializer()
    weeks = FiguresSerializer(many=True)
    definitions = serializers.DictField(child=serializers.CharField())

    def get_team(self, report) -> str | None:
        return report["team"].slug if report["team"] else None

    def get_template(self, report) -> str | None:
        return report["template"].slug if report["template"] else None
