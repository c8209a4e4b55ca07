"""The sync's side of requirements.yml: the collections and roles a template version needs,
installed (catalog.galaxy) before the version is written, outside its transaction."""

from pathlib import Path
from typing import cast

from django.conf import settings

from catalog import galaxy
from catalog import requirements as galaxy_requirements
from catalog.loader import Folder, Problem
from catalog.models import TemplateVersion


def install_requirements(*, folder: Folder) -> None:
    """Install the collections and roles of a sound folder that ships a requirements.yml,
    unless its version's path exists already; what cannot be met becomes the folder's
    problem (the template is then isolated, keeping the version it had)."""
    data = folder.requirements if folder.ok else None
    if data is None or folder.path is None:
        return
    file = f"{folder.slug}/{galaxy_requirements.FILE}"
    server = settings.GANGPLANK_GALAXY_SERVER
    found = galaxy_requirements.source_problems(data, server=server)
    folder.problems += [Problem(file, field, message) for field, message in found]
    label = cast(dict, folder.manifest)["version"]
    published = TemplateVersion.objects.filter(template__slug=folder.slug, version=label)
    digest = published.values_list("digest", flat=True).first()
    if folder.problems or digest not in (None, folder.digest):
        return  # the sync refuses this folder anyway
    dest = galaxy.content_path(
        root=Path(settings.COLLECTIONS_DIR), slug=folder.slug, version=label, digest=folder.digest
    )
    if dest.is_dir():
        return
    try:
        galaxy.install(folder=folder.path, dest=dest, server=server)
    except galaxy.InstallError as exc:
        folder.problems.append(Problem(file, "", str(exc)))
