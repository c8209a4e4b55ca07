from django.conf import settings
from django.db import models
from django.db.models import Q

from core.querysets import RestrictedQuerySet
from provisioning.states import RUN_FINISHED, RunAction, RunStatus, ServiceStatus


class Service(models.Model):
    """Something a team requested from the catalogue, and everything done to it since."""

    name = models.CharField(max_length=63)
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="services")
    template = models.ForeignKey(
        "catalog.Template", on_delete=models.PROTECT, related_name="services"
    )
    template_version = models.ForeignKey(
        "catalog.TemplateVersion", on_delete=models.PROTECT, related_name="services"
    )
    inputs = models.JSONField(default=dict)
    outputs = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20, choices=ServiceStatus.choices, default=ServiceStatus.PROVISIONING
    )
    last_run = models.ForeignKey(
        "Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"],
                condition=~Q(status="deprovisioned"),
                name="service_unique_live_name_per_team",
            )
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}"


class Run(models.Model):
    """One execution of one of a template's playbooks for a service."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="runs")
    action = models.CharField(max_length=20, choices=RunAction.choices)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    template_version = models.ForeignKey(
        "catalog.TemplateVersion", on_delete=models.PROTECT, related_name="runs"
    )
    inputs = models.JSONField(default=dict)
    outputs = models.JSONField(default=dict)
    rc = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.action} of {self.service_id} (run {self.pk})"

    @property
    def is_finished(self) -> bool:
        return self.status in RUN_FINISHED


class RunEvent(models.Model):
    """One event of ansible-runner's stream, in the order of its counter."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    counter = models.IntegerField()
    event = models.CharField(max_length=100)
    task = models.CharField(max_length=500, blank=True)
    host = models.CharField(max_length=255, blank=True)
    stdout = models.TextField(blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["run", "counter"]
        constraints = [
            models.UniqueConstraint(fields=["run", "counter"], name="runevent_unique_counter")
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.counter} {self.event}"
