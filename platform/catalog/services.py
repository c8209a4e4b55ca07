from pathlib import Path
from typing import cast

from django.db import transaction
from django.utils import timezone

from audit import services as audit
from catalog.choice_lists import CREDENTIAL_TYPES
from catalog.choice_specs import CHOICES, choice_sources
from catalog.installs import install_requirements
from catalog.loader import Folder, Problem, load_catalog
from catalog.models import CatalogSync, Template, TemplateVersion
from core import text
from credentials.models import Credential, CredentialType
from inventories import selectors as inventories
from inventories.models import Inventory


def sync_catalog(*, directory: Path) -> CatalogSync:
    """Load the catalogue folder into the database.

    Each template is written in a transaction of its own: a broken one keeps what it had
    (its errors recorded for ops), the others still load. Content is kept in immutable
    versions; a template whose folder is gone is retired, never deleted.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"catalogue folder {directory} does not exist")
    report = CatalogSync(directory=text.replaced(str(directory)))
    folders = load_catalog(directory)
    for folder in folders:
        install_requirements(folder=folder)  # slow I/O, before the template's transaction
        outcome = _sync_folder(folder)
        if outcome in ("created", "updated"):
            getattr(report, outcome).append(folder.slug)
        report.problems += [problem.as_dict() for problem in folder.problems]
    present = {folder.slug for folder in folders}
    with transaction.atomic():
        retiring = Template.objects.filter(retired_at__isnull=True).exclude(slug__in=present)
        report.retired = sorted(retiring.values_list("slug", flat=True))
        retiring.update(retired_at=timezone.now())
        report.save()
        audit.record(
            action="catalog.synced",
            obj=report,
            label=str(directory),
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
def _sync_folder(folder: Folder) -> str | None:
    template, created = Template.objects.select_for_update().get_or_create(
        slug=folder.slug, defaults={"name": folder.slug}
    )
    template.retired_at, template.synced_at = None, timezone.now()
    credentials = []
    if folder.ok:
        credentials = _credentials_for(folder)
        folder.problems += _target_problems(folder, credentials)
    version = _version_for(template, folder) if folder.ok else None
    if version is None:
        template.errors = [problem.as_dict() for problem in folder.problems]
        template.save()
        return None
    changed = template.current_version_id != version.pk
    manifest = cast(dict, folder.manifest)
    template.current_version = version
    template.name = manifest["name"]
    template.description = manifest.get("description", "")
    template.category = manifest.get("category", "")
    template.errors = []
    template.save()
    template.credentials.set(credentials)
    template.inventories.set(
        Inventory.objects.filter(name__in=inventories.inventory_names(manifest))
    )
    return "created" if created else "updated" if changed else None


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
    wanted = [*names, *fetching.values()]
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
    return [found[name] for name in dict.fromkeys(wanted) if name in found]


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


def _version_for(template: Template, folder: Folder) -> TemplateVersion | None:
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
        )
    if existing.digest != folder.digest:
        folder.problems.append(
            Problem(
                f"{folder.slug}/template.yml",
                "version",
                f"the files changed but version {label} was already published; bump the version",
            )
        )
        return None
    return existing
