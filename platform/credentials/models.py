from django.db import models

from core.secrets import EncryptedField
from teams.access import Access
from teams.querysets import RestrictedQuerySet


class CredentialType(models.TextChoices):
    """The built-in types; their fields and how each is injected are in credentials.types."""

    SSH = "ssh", "SSH key"
    PASSWORD = "password", "Username and password"
    TOKEN = "token", "Token"
    ENV = "env", "Environment variables"
    FILE = "file", "File"


class Credential(models.Model):
    """A secret that platform engineers keep for templates, which name it in their manifest.

    The type's plain fields (a username, a variable's name) are in `values`; its secret
    fields in `secrets`, encrypted with core.secrets and never shown again.
    """

    name = models.SlugField(max_length=100, unique=True)
    type = models.CharField(max_length=20, choices=CredentialType.choices)
    description = models.TextField(blank=True)
    values = models.JSONField(default=dict, blank=True)
    secrets = EncryptedField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    access = Access(refusal="Only platform engineers manage credentials.")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
