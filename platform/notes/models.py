from django.conf import settings
from django.db import models
from django.utils.functional import cached_property

from core import markdown
from teams.access import Access
from teams.querysets import RestrictedQuerySet

MAX_BODY = 10_000


class ServiceNote(models.Model):
    """A note in a service's thread, written by its team or ops: raw Markdown."""

    service = models.ForeignKey(
        "provisioning.Service", on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(max_length=MAX_BODY)
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(team="service__team")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["service", "created_at"])]

    def __str__(self) -> str:
        return f"note {self.pk} on service {self.service_id}"

    @cached_property
    def html(self) -> str:
        """The body rendered and sanitised (see core.markdown)."""
        return markdown.render(self.body)

    @property
    def author_name(self) -> str:
        return self.author.get_username() if self.author else "(deleted user)"
