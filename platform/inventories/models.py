from django.db import models

from teams.access import Access
from teams.querysets import RestrictedQuerySet


class Inventory(models.Model):
    """Hosts that templates reach over SSH, kept by platform engineers."""

    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    access = Access(refusal="Only platform engineers keep inventories and their hosts.")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "inventories"

    def __str__(self) -> str:
        return self.name


class Host(models.Model):
    """A host of an inventory: where it is, its groups and variables, and its SSH host key,
    pinned: a run refuses a host whose key is another."""

    inventory = models.ForeignKey(Inventory, on_delete=models.CASCADE, related_name="hosts")
    name = models.CharField(max_length=255)
    address = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=22)
    groups = models.JSONField(default=list, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    # One or more public keys as in known_hosts, without the host part: "<type> <base64>".
    host_key = models.TextField()

    access = Access(refusal="Only platform engineers keep inventories and their hosts.")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["inventory", "name"]
        constraints = [
            models.UniqueConstraint(fields=["inventory", "name"], name="host_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
