import pgtrigger
from django.db import models

from teams.access import Access
from teams.querysets import RestrictedQuerySet


class AuditEvent(models.Model):
    """One change of state, who made it, from where: append-only.

    No foreign keys: an event outlives the user, team or object it names, and nothing may
    update it (on PostgreSQL a trigger refuses UPDATE and DELETE).
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=150, blank=True, db_index=True)  # "" is the system
    actor_id = models.BigIntegerField(null=True, blank=True)
    token = models.CharField(max_length=30, blank=True)  # the API token's first characters
    address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    team_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    team = models.CharField(max_length=50, blank=True)
    changes = models.JSONField(default=dict, blank=True)  # field -> [before, after]

    access = Access(
        team="team",
        admins_only=True,
        refusal="The audit trail is for platform engineers, auditors and team admins.",
    )
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        db_table = "core_auditevent"  # the table it had in core, kept with its rows
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        triggers = [
            pgtrigger.Protect(
                name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        who = self.actor or "system"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {who} {self.action} {self.object_repr}"
