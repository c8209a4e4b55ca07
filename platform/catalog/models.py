from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import models
from packaging.version import InvalidVersion, Version

from catalog import actions as custom_actions
from catalog import approval, galaxy
from catalog.requirements import FILE as REQUIREMENTS
from catalog.schema import ORDER, in_order, limited
from core.durations import parse_duration
from core.secrets import EncryptedField
from teams.access import Access
from teams.querysets import RestrictedQuerySet


class SourceKind(models.TextChoices):
    GIT = "git", "Git repository"
    # The server's own catalogue folder (GANGPLANK_CATALOG_DIR), read as it is.
    FOLDER = "folder", "Folder on the server"


class CatalogSource(models.Model):
    """Where templates come from: a git repository's branch or tag (a folder inside it), or
    the server's catalogue folder. Each sync reads one commit; a source that cannot be read
    keeps the versions it last loaded and says why in `last_error`.
    """

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=SourceKind.choices, default=SourceKind.GIT)
    # https://, ssh:// (or user@host:path), git://, http:// or file:// for git; the folder's
    # path for a folder source.
    url = models.CharField(max_length=500)
    # A branch or a tag.
    branch = models.CharField(max_length=200, default="main")
    # The folder inside the repository that holds the templates' folders ("" for its root).
    path = models.CharField(max_length=500, blank=True)
    # An ssh key or a token (https) from the credentials store.
    credential = models.ForeignKey(
        "credentials.Credential",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="catalog_sources",
    )
    # {"secret": ...}: what signs (GitHub, Gitea) or accompanies (GitLab) its webhooks.
    webhook_secret = EncryptedField(blank=True)
    # For ssh URLs: the server's public keys, one a line, "<type> <base64>" (as inventories'
    # hosts pin theirs); the connection is refused unless the server shows one of them.
    host_keys = models.TextField(blank=True)
    # A preview source is a channel: each sync makes its new versions preview versions, seen
    # and requested only by platform engineers and the members of `teams` until promoted.
    preview = models.BooleanField(default=False)
    teams = models.ManyToManyField("teams.Team", blank=True, related_name="preview_sources")
    # The last commit that was read, its time, and the last attempt's error ("" if it worked).
    commit = models.CharField(max_length=40, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set while a sync of this source is running (claimed with a conditional update), so
    # that a push delivered twice, or a beat tick during a sync, starts no second one.
    sync_started_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    # The ids of the preview versions the sync that read `commit` wrote: what promotion
    # releases (not a preview a failed or overtaken sync of a later commit left behind).
    previews = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(refusal="Only platform engineers manage the catalogue's sources.")
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """A push delivery a source accepted, by the delivery id its forge gave it and the commit
    pushed: the same delivery, or the same commit under another delivery id (which the
    signature does not cover), again is a replay and changes nothing."""

    source = models.ForeignKey(CatalogSource, on_delete=models.CASCADE, related_name="deliveries")
    delivery = models.CharField(max_length=200)
    commit = models.CharField(max_length=40, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "delivery"], name="webhookdelivery_unique_delivery"
            ),
            models.UniqueConstraint(
                fields=["source", "commit"],
                condition=~models.Q(commit=""),
                name="webhookdelivery_unique_commit",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.delivery} to {self.source_id}"


class Template(models.Model):
    """A template of the catalogue, as loaded from `<catalog>/<slug>/template.yml`.

    Its content lives in immutable versions; `current_version` is what new requests get,
    `preview_version` what a preview source's audience gets instead (see catalog.channels).
    A template whose folder disappeared is retired (no new requests), never deleted.
    """

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=100, blank=True)
    current_version = models.ForeignKey(
        "TemplateVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A preview source's newest version, offered only to the preview's audience (platform
    # engineers and the source's teams) until promoted; everyone else keeps current_version.
    preview_version = models.ForeignKey(
        "TemplateVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Problems found by the last sync, each {"file", "field", "message"}; empty when it loaded.
    errors = models.JSONField(default=list, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    # What the current version names in its manifest, kept by each sync: a credential or an
    # inventory that a template uses cannot be deleted (PROTECT).
    credentials = models.ManyToManyField(
        "credentials.Credential", through="TemplateCredential", related_name="templates"
    )
    inventories = models.ManyToManyField(
        "inventories.Inventory", through="TemplateInventory", related_name="templates"
    )
    synced_at = models.DateTimeField(null=True, blank=True)
    # The source that offers it: another source offering the same slug is refused.
    source = models.ForeignKey(
        CatalogSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="templates"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(
        everyone_views=True,
        preview="source",
        refusal="Only platform engineers curate the catalogue.",
    )
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_requestable(self) -> bool:
        """Whether some team may request it (which version, catalog.channels decides)."""
        has_version = self.current_version_id is not None or self.preview_version_id is not None
        return has_version and self.retired_at is None

    @property
    def is_broken(self) -> bool:
        return bool(self.errors)


class TemplateVersion(models.Model):
    """One version of a template: its manifest and files as they were, never changed."""

    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=50)
    digest = models.CharField(max_length=64)
    manifest = models.JSONField()
    # Relative path -> text of every file of the template's folder.
    files = models.JSONField()
    # Where it was read: the source, the commit (empty for a folder source), the commit's
    # author and date, and the template's folder within the repository.
    source = models.ForeignKey(
        CatalogSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="versions"
    )
    commit = models.CharField(max_length=40, blank=True)
    commit_author = models.CharField(max_length=200, blank=True)
    commit_date = models.DateTimeField(null=True, blank=True)
    path = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(
        everyone_views=True,
        preview="template__source",
        refusal="Only platform engineers curate the catalogue.",
    )
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["template", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "version"], name="templateversion_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template.slug} {self.version}"

    @property
    def inputs_schema(self) -> dict:
        """The schema inputs are checked against, shown by the API and drawn as the form."""
        return limited(self.manifest["inputs"])

    @property
    def outputs(self) -> dict:
        """The declared outputs, in the manifest's order."""
        order = (self.manifest.get(ORDER) or {}).get("outputs")
        return in_order(self.manifest.get("outputs") or {}, order)

    @property
    def playbooks(self) -> dict:
        return self.manifest["playbooks"]

    def _duration(self, *keys: str) -> timedelta | None:
        value = self.manifest
        for key in keys:
            value = (value or {}).get(key)
        return parse_duration(value) if value else None

    @property
    def lifetime_default(self) -> timedelta | None:
        return self._duration("lifetime", "default")

    @property
    def lifetime_max(self) -> timedelta | None:
        return self._duration("lifetime", "max")

    @property
    def timeout(self) -> timedelta | None:
        return self._duration("timeout")

    @property
    def drift_check(self) -> timedelta | None:
        return self._duration("drift_check")

    @property
    def approval_rule(self) -> approval.Rule | None:
        return approval.parse(self.manifest.get("approval"))

    @property
    def actions(self) -> dict[str, custom_actions.Action]:
        """The template's custom day-2 actions by name (catalog.actions)."""
        return custom_actions.declared(self.manifest)

    @property
    def content_path(self) -> Path | None:
        """Where the sync installed the collections and roles of its requirements.yml, which
        its runs use (None without one)."""
        if REQUIREMENTS not in self.files:
            return None
        return galaxy.content_path(
            root=settings.COLLECTIONS_DIR,
            slug=self.template.slug,
            version=self.version,
            digest=self.digest,
        )

    def is_newer_than(self, other: "TemplateVersion") -> bool:
        try:
            return Version(self.version) > Version(other.version)
        except InvalidVersion:
            return self.created_at > other.created_at


class CatalogSync(models.Model):
    """The record of one sync of the catalogue folder."""

    directory = models.CharField(max_length=500)
    source = models.ForeignKey(
        CatalogSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="syncs"
    )
    commit = models.CharField(max_length=40, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    created = models.JSONField(default=list)
    updated = models.JSONField(default=list)
    retired = models.JSONField(default=list)
    problems = models.JSONField(default=list)
    # The ids of the preview versions the templates it wrote offer after it.
    previews = models.JSONField(default=list)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"sync of {self.directory} at {self.started_at:%Y-%m-%d %H:%M}"


class TemplateCredential(models.Model):
    template = models.ForeignKey(Template, on_delete=models.CASCADE)
    credential = models.ForeignKey("credentials.Credential", on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "credential"], name="templatecredential_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template_id} uses credential {self.credential_id}"


class TemplateInventory(models.Model):
    template = models.ForeignKey(Template, on_delete=models.CASCADE)
    inventory = models.ForeignKey("inventories.Inventory", on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "inventory"], name="templateinventory_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template_id} uses inventory {self.inventory_id}"


class ChoiceList(models.Model):
    """The last list fetched for inputs whose choices come from a URL, shared by the web and
    worker processes: fetched again once `fresh_until` has passed; when that fetch fails,
    the values are kept and `last_error` says why (catalog.choice_lists)."""

    # sha256 of the URL as fetched (placeholders filled in), the credential's name and the
    # items, value and label JSONPaths (catalog.choice_lists.listed).
    key = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255)
    # [[value, label], ...], in the source's order.
    values = models.JSONField(default=list)
    fetched_at = models.DateTimeField(null=True, blank=True)
    fresh_until = models.DateTimeField()
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"choices from {self.host}"
