from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit import services as audit
from catalog import uses
from catalog.choice_lists import CREDENTIAL_TYPES
from catalog.choice_specs import CHOICES, choice_sources
from catalog.installs import install_requirements
from catalog.loader import Folder, Problem, load_catalog
from catalog.models import CatalogSource, CatalogSync, SourceKind, Template, TemplateVersion
from core import text
from credentials.models import Credential, CredentialType
from inventories import selectors as inventories
from inventories.models import Inventory

LOCAL_SOURCE = "local"


@dataclass(frozen=True)
class Origin:
    """Where a tree was read: its source, and for a git source the commit and the folder of
    the repository that holds the templates."""

    source: CatalogSource
    commit: str = ""
    author: str = ""
    date: datetime | None = None
    path: str = ""

    def where(self, slug: str) -> str:
        return "/".join(part for part in (self.path.strip("/"), slug) if part)


def local_source() -> CatalogSource:
    """The server's catalogue folder (GANGPLANK_CATALOG_DIR) as a source, made if missing."""
    source, _ = CatalogSource.objects.get_or_create(
        name=LOCAL_SOURCE,
        defaults={"kind": SourceKind.FOLDER, "url": str(settings.CATALOG_DIR), "branch": ""},
    )
    return source


def sync_catalog(
    *,
    directory: Path,
    origin: Origin | None = None,
    progress: Callable[[], None] | None = None,
) -> CatalogSync:
    """Load a folder of templates (a source's tree) into the database.

    Each template is written in a transaction of its own: a broken one keeps what it had
    (its errors recorded for ops), the others still load. Content is kept in immutable
    versions; a template of the source whose folder is gone is retired, never deleted. A
    slug another source offers is this sync's problem, and that template is left alone.
    Without `origin`, the folder is read as the server's own (the `local` source).
    `progress` is called before each template (a sync refreshes its claim on the source
    there; what it raises stops the sync).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"catalogue folder {directory} does not exist")
    origin = origin or Origin(source=local_source())
    source = origin.source
    report = CatalogSync(
        directory=(
            f"{source.name}:/{origin.path.strip('/')}"
            if origin.commit
            else text.replaced(str(directory))
        )[:500],
        source=source,
        commit=origin.commit,
    )
    folders = load_catalog(directory)
    for folder in folders:
        if progress is not None:
            progress()
        install_requirements(folder=folder)  # slow I/O, before the template's transaction
        outcome, preview = _sync_folder(folder, origin)
        if preview is not None:
            report.previews.append(preview)
        if outcome in ("created", "updated"):
            getattr(report, outcome).append(folder.slug)
        report.problems += [problem.as_dict() for problem in folder.problems]
    present = {folder.slug for folder in folders}
    ours = Q(source=source)
    if source.name == LOCAL_SOURCE:
        ours |= Q(source__isnull=True)  # loaded before sources existed
    with transaction.atomic():
        retiring = Template.objects.filter(ours, retired_at__isnull=True).exclude(slug__in=present)
        report.retired = sorted(retiring.values_list("slug", flat=True))
        retiring.update(retired_at=timezone.now())
        report.save()
        audit.record(
            action="catalog.synced",
            obj=report,
            label=f"{source.name} {origin.commit[:12]}".strip()
            if origin.commit
            else str(directory),
            changes={
                key: [None, value]
                for key, value in {
                    "created": report.created,
                    "updated": report.updated,
                    "retired": report.retired,
                    "problems": len(report.problems),
                }.items()
                if value
            },
        )
    return report


@transaction.atomic
def _sync_folder(folder: Folder, origin: Origin) -> tuple[str | None, int | None]:
    """Write one template; returns its outcome ("created", "updated" or None) and the id of
    the preview version it now offers (None when it offers none, or was not written)."""
    template, created = Template.objects.select_for_update().get_or_create(
        slug=folder.slug, defaults={"name": folder.slug, "source": origin.source}
    )
    if _offered_elsewhere(template, origin.source):
        folder.problems.append(
            Problem(
                folder.slug,
                "",
                f"template {folder.slug} is already offered by source "
                f"{template.source or LOCAL_SOURCE}",
            )
        )
        return None, None
    template.source = origin.source  # adopts a template no (other live) source offers
    template.synced_at = timezone.now()
    credentials = []
    if folder.ok:
        credentials = _credentials_for(folder)
        folder.problems += _target_problems(folder, credentials)
    version = _version_for(template, folder, origin) if folder.ok else None
    if version is None:
        template.errors = [problem.as_dict() for problem in folder.problems]
        template.save()
        return None, None
    # A preview source's new version is its audience's (preview_version) until promoted. A
    # retired template it offers again stays retired for everyone else until then (even at
    # its current version): only promotion brings it back (catalog.channels).
    retired = template.retired_at is not None
    previewed = origin.source.preview and (retired or version.pk != template.current_version_id)
    changed = (template.preview_version_id or template.current_version_id) != version.pk
    manifest = cast(dict, folder.manifest)
    if previewed:
        template.preview_version = version
    else:
        template.current_version, template.preview_version = version, None
        template.retired_at = None
    if not previewed or template.current_version_id is None:
        template.name = manifest["name"]
        template.description = manifest.get("description", "")
        template.category = manifest.get("category", "")
    template.errors = []
    template.save()
    uses.link(template=template)  # the current version's stay protected during a preview
    outcome = "created" if created else "updated" if changed else None
    return outcome, template.preview_version_id


def _offered_elsewhere(template: Template, source: CatalogSource) -> bool:
    if template.retired_at is not None:  # free to adopt, unless a preview holds it
        return template.preview_version_id is not None and template.source_id != source.pk
    if template.source_id is None:  # loaded before sources existed: the server's folder's
        return source.name != LOCAL_SOURCE
    return template.source_id != source.pk


def _credentials_for(folder: Folder) -> list[Credential]:
    """The credentials the manifest names (in `credentials`, then to fetch inputs' choices);
    an unknown one, or one that cannot fetch a list, is the folder's problem."""
    manifest = cast(dict, folder.manifest)
    names = manifest.get("credentials") or []
    fetching = {
        name: source["credential"]
        for name, source in choice_sources(manifest["inputs"], "url").items()
        if source.get("credential")
    }
    wanted = uses.credential_names(manifest)
    found = {c.name: c for c in Credential.objects.filter(name__in=wanted)}
    file = f"{folder.slug}/template.yml"
    unknown = "unknown credential {!r}: a platform engineer creates it under Credentials"
    for name in names:
        if name not in found:
            folder.problems.append(Problem(file, "credentials", unknown.format(name)))
    for input_name, name in fetching.items():
        where = f"inputs.properties.{input_name}.{CHOICES}.credential"
        if name not in found:
            folder.problems.append(Problem(file, where, unknown.format(name)))
        elif found[name].type not in CREDENTIAL_TYPES:
            folder.problems.append(
                Problem(
                    file,
                    where,
                    f"credential {name!r} is of type {found[name].type}: a list is fetched "
                    "with a token (sent as a bearer token) or a password (basic auth)",
                )
            )
    return [found[name] for name in wanted if name in found]


def _target_problems(folder: Folder, credentials: list[Credential]) -> list[Problem]:
    """What the manifest names of inventories that does not exist, and a missing SSH
    credential to reach their hosts (`credentials`: those it names that exist, for its runs
    and to fetch its inputs' choices)."""
    manifest, file = cast(dict, folder.manifest), f"{folder.slug}/template.yml"
    known = set(
        Inventory.objects.filter(name__in=inventories.inventory_names(manifest)).values_list(
            "name", flat=True
        )
    )
    named = []
    if manifest.get("targets"):
        named.append(("targets.inventory", manifest["targets"]["inventory"]))
    for name, source in inventories.choice_inputs(manifest["inputs"]).items():
        named.append((f"inputs.properties.{name}.x-gangplank-choices", source["inventory"]))
    problems = [
        Problem(file, where, f"names inventory {name!r}, which does not exist")
        for where, name in named
        if name not in known
    ]
    for_runs = [c for c in credentials if c.name in (manifest.get("credentials") or [])]
    all_found = len(for_runs) == len(manifest.get("credentials") or [])
    ssh = sum(credential.type == CredentialType.SSH for credential in for_runs)
    if inventories.uses_hosts(manifest) and all_found and ssh != 1:
        problems.append(
            Problem(
                file,
                "credentials",
                "a template that reaches hosts (targets or host choices) names exactly one "
                f"credential of type ssh; this one names {ssh}",
            )
        )
    return problems


def _version_for(template: Template, folder: Folder, origin: Origin) -> TemplateVersion | None:
    """The stored version matching the folder, a new one, or None if the version was not bumped."""
    label = cast(dict, folder.manifest)["version"]
    existing = template.versions.filter(version=label).first()
    if existing is None:
        return TemplateVersion.objects.create(
            template=template,
            version=label,
            digest=folder.digest,
            manifest=folder.manifest,
            files=folder.files,
            source=origin.source,
            commit=origin.commit,
            commit_author=origin.author[:200],
            commit_date=origin.date,
            path=origin.where(folder.slug),
        )
    if existing.digest != folder.digest:
        at = f" (at commit {origin.commit})" if origin.commit else ""
        folder.problems.append(
            Problem(
                f"{folder.slug}/template.yml",
                "version",
                f"the files changed{at} but version {label} was already published; "
                "bump the version",
            )
        )
        return None
    return existing
