from django.conf import settings
from django.db import models

from teams.access import Access
from teams.querysets import RestrictedQuerySet
from teams.roles import PlatformRole, TeamRole


class Team(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(team="pk", managed=True)
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    Role = TeamRole

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class GlobalRole(models.Model):
    """A role across all teams: platform engineers (ops) and auditors."""

    Role = PlatformRole

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="global_role"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()}"


class Quota(models.Model):
    """A limit on a team's live services: in total (no template) or of one template."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="quotas")
    template = models.ForeignKey(
        "catalog.Template", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    max_services = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "template"],
                condition=models.Q(template__isnull=False),
                name="quota_unique_per_template",
            ),
            models.UniqueConstraint(
                fields=["team"],
                condition=models.Q(template__isnull=True),
                name="quota_unique_total",
            ),
        ]

    def __str__(self) -> str:
        scope = self.template.slug if self.template else "all templates"
        return f"{self.team.slug}: {self.max_services} services ({scope})"
