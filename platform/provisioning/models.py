from django.conf import settings
from django.db import models
from django.db.models import Q

from core.secrets import EncryptedField
from provisioning.states import (
    CHECK_MODE_ACTIONS,
    RUN_FINISHED,
    RUN_IN_PROGRESS,
    RunAction,
    RunStatus,
    RunTrigger,
    ServiceStatus,
)
from teams.access import Access
from teams.querysets import RestrictedQuerySet


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
    # Secret inputs hold core.secrets.PLACEHOLDER here; their values are in `secrets`.
    inputs = models.JSONField(default=dict)
    # A Fernet token of the secret inputs' values (core.secrets), "" when there are none.
    secrets = EncryptedField(blank=True, default="", editable=False)
    outputs = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20, choices=ServiceStatus.choices, default=ServiceStatus.PROVISIONING
    )
    # Which action left the service failed, so that the portal offers the right way out: a
    # built-in (RunAction) or one of its template's custom actions (catalog.actions).
    failed_action = models.CharField(max_length=50, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    drifted = models.BooleanField(default=False)
    # What the last drift check found would change: [{"task", "host", "diff"}].
    drift = models.JSONField(default=list, blank=True)
    drift_checked_at = models.DateTimeField(null=True, blank=True)
    # A service it uses changed its outputs since this one's last deploy (see graph).
    dependency_changed = models.BooleanField(default=False)
    # When it was marked: a run started before then used the old outputs and leaves the mark.
    dependency_changed_at = models.DateTimeField(null=True, blank=True)
    # Waiting to be deprovisioned, by whom, once the services that use it are (a cascade).
    deprovision_pending = models.BooleanField(default=False)
    deprovision_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_run = models.ForeignKey(
        "Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    access = Access(team="team")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"],
                condition=~Q(status=ServiceStatus.DEPROVISIONED),
                name="service_unique_live_name_per_team",
            )
        ]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["expires_at"]),
            # The lists' default order, newest first: read in order, no sort of the whole table.
            models.Index(fields=["-created_at", "-id"], name="service_newest_first"),
            # A team's services (the `team` filter, a team member's lists) in that order.
            models.Index(fields=["team", "-created_at", "-id"], name="service_team_newest_first"),
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}"

    @property
    def is_failed(self) -> bool:
        return self.status == ServiceStatus.FAILED

    @property
    def is_deprovisioned(self) -> bool:
        return self.status == ServiceStatus.DEPROVISIONED

    @property
    def is_active(self) -> bool:
        return self.status == ServiceStatus.ACTIVE

    @property
    def failed_action_label(self) -> str:
        if not self.failed_action or self.failed_action in RunAction.values:
            return RunAction(self.failed_action).label if self.failed_action else ""
        return action_label(self.failed_action, self.template_version.manifest)


def action_label(action: str, manifest: dict) -> str:
    """What people call a run's action: a built-in's label, a custom action's title (from
    the manifest of the version it belongs to), else its name."""
    if action in RunAction.values:
        return RunAction(action).label
    declared = (manifest.get("actions") or {}).get(action) or {}
    return declared.get("title") or action


class ServiceDependency(models.Model):
    """`service` uses `uses` through its input `input` (one that picks a service): the
    graph that outputs flow along and teardown follows. Kept in step with the service's
    inputs (provisioning.graph.sync)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="dependencies")
    uses = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="dependents")
    input = models.CharField(max_length=200)

    access = Access(team="service__team")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["input", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["service", "input"], name="dependency_unique_input")
        ]

    def __str__(self) -> str:
        return f"{self.service_id} uses {self.uses_id} as {self.input}"


class Run(models.Model):
    """One execution of one of a template's playbooks for a service."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="runs")
    # A built-in (RunAction) or a custom action of its template version (catalog.actions).
    action = models.CharField(max_length=50)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=20, choices=RunTrigger.choices, default=RunTrigger.USER)
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries"
    )
    # The preview whose inputs this run applies ("Apply these changes").
    preview = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The service's status when the run was queued: where a canceled queued run returns it.
    service_status_before = models.CharField(max_length=20, blank=True)
    template_version = models.ForeignKey(
        "catalog.TemplateVersion", on_delete=models.PROTECT, related_name="runs"
    )
    inputs = models.JSONField(default=dict)
    secrets = EncryptedField(blank=True, default="", editable=False)
    # A custom action's own inputs, validated against its schema (`inputs` stay the service's).
    parameters = models.JSONField(default=dict, blank=True)
    outputs = models.JSONField(default=dict)
    # Tasks that changed (or, in check mode, would change): [{"task", "host", "diff"}].
    changes = models.JSONField(default=list, blank=True)
    # Tasks check mode skipped, whose effect it could not predict: [{"task", "host", "reason"}].
    skipped_tasks = models.JSONField(default=list, blank=True)
    rc = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    canceled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when retention (provisioning.retention) wrote the log to a file and removed its events.
    log_archived_at = models.DateTimeField(null=True, blank=True, editable=False)

    access = Access(team="service__team")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status"]),
            # The lists' default order, newest first, of all runs and of a service's runs.
            models.Index(fields=["-created_at", "-id"], name="run_newest_first"),
            models.Index(fields=["service", "-created_at", "-id"], name="run_service_newest_first"),
            # The home page's failure rates read the runs finished in the last days.
            models.Index(
                fields=["finished_at"],
                condition=Q(status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]),
                name="run_ended_finished_at",
            ),
        ]
        constraints = [
            # One run at a time per service, whatever process tries to queue a second.
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(status__in=RUN_IN_PROGRESS),
                name="run_one_in_progress_per_service",
            )
        ]

    def __str__(self) -> str:
        return f"run {self.pk}: {self.action} of service {self.service_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in RUN_FINISHED

    @property
    def is_succeeded(self) -> bool:
        return self.status == RunStatus.SUCCEEDED

    @property
    def is_failed(self) -> bool:
        return self.status == RunStatus.FAILED

    @property
    def is_running(self) -> bool:
        return self.status == RunStatus.RUNNING

    @property
    def is_awaiting_approval(self) -> bool:
        return self.status == RunStatus.AWAITING_APPROVAL

    @property
    def is_canceled(self) -> bool:
        return self.status == RunStatus.CANCELED

    @property
    def is_check_mode(self) -> bool:
        return self.action in CHECK_MODE_ACTIONS

    @property
    def is_preview(self) -> bool:
        return self.action == RunAction.PREVIEW

    @property
    def is_custom(self) -> bool:
        """A custom action of its template (catalog.actions), not a built-in run."""
        return self.action not in RunAction.values

    @property
    def declared_parameters(self) -> dict:
        """A custom action's inputs as its version declares them (for their titles)."""
        declared = (self.template_version.manifest.get("actions") or {}).get(self.action) or {}
        return (declared.get("inputs") or {}).get("properties") or {}

    @property
    def action_name(self) -> str:
        """The action as messages and the audit trail name it: a built-in's name
        ("provision"), a custom action's title."""
        return self.action_label if self.is_custom else self.action

    @property
    def action_label(self) -> str:
        """The built-in's label, or the custom action's title in its template version."""
        if not self.is_custom:  # no look-up of the version
            return RunAction(self.action).label
        return action_label(self.action, self.template_version.manifest)


class ServiceEvent(models.Model):
    """A line of a service's timeline besides its runs: status changes, extensions."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status changed"
        EXTENDED = "extended", "Expiry extended"
        DRIFT = "drift", "Drift checked"
        DEPENDENCY = "dependency", "Dependency"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    message = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(team="service__team")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        # A service's events in time order: its timeline, and the DORA restores' look-ups of
        # a service's previous and next status.
        indexes = [models.Index(fields=["service", "created_at"], name="serviceevent_service_time")]

    def __str__(self) -> str:
        return f"{self.service_id}: {self.kind} {self.from_status}->{self.to_status}"


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

    access = Access(team="run__service__team")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["run", "counter"]
        constraints = [
            models.UniqueConstraint(fields=["run", "counter"], name="runevent_unique_counter")
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.counter} {self.event}"
