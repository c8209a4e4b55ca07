"""The roles: a member's in a team, and the few across all teams."""

from django.db import models


class TeamRole(models.TextChoices):
    MEMBER = "member", "Member"
    ADMIN = "admin", "Team admin"


class PlatformRole(models.TextChoices):
    PLATFORM = "platform", "Platform engineer"
    AUDITOR = "auditor", "Auditor"
