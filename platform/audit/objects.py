"""The kinds of object the audit trail records (AuditEvent.object_type, a model's label), with
a title for people and, for those that have one, the page of one object.

Named here rather than imported: the audit trail sits below the apps whose objects it records.
A model newly passed to `audit.services.record` belongs here too (tests/test_audit.py checks
that each one named is a model, and that each page reverses).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectType:
    label: str  # the model's label_lower
    title: str
    url_name: str = ""  # the page of one, reversed with url_field as its only argument
    url_field: str = "pk"


TYPES = [
    ObjectType("approvals.approval", "Approval", "approvals:detail"),
    ObjectType("catalog.catalogsync", "Catalogue sync"),
    ObjectType("credentials.credential", "Credential", "credentials:edit"),
    ObjectType("inventories.inventory", "Inventory", "inventories:detail", "name"),
    ObjectType("notifications.destination", "Notification destination"),
    ObjectType("provisioning.run", "Run", "provisioning:run"),
    ObjectType("provisioning.service", "Service", "provisioning:service"),
    ObjectType("teams.team", "Team", "teams:detail", "slug"),
    ObjectType("auth.user", "User"),
]
BY_LABEL = {kind.label: kind for kind in TYPES}
CHOICES = [(kind.label, kind.title) for kind in TYPES]
