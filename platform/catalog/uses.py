"""What a template's versions use: the credentials and inventories their manifests name.

A template is linked (PROTECT) to what its current version and its pending preview version
name, so that neither can lose a credential or an inventory while it is offered. What the
template shows as its credentials is what the version shown names (catalog.presentation),
never the union: a preview's names stay its audience's.
"""

from catalog.choice_specs import choice_sources
from catalog.models import Template
from credentials.models import Credential
from inventories import selectors as inventories
from inventories.models import Inventory


def credential_names(manifest: dict) -> list[str]:
    """The credentials a manifest names: for its runs (`credentials`), then to fetch its
    inputs' choices, each once."""
    fetching = [
        source["credential"]
        for source in choice_sources(manifest.get("inputs") or {}, "url").values()
        if source.get("credential")
    ]
    return list(dict.fromkeys([*(manifest.get("credentials") or []), *fetching]))


def link(*, template: Template) -> None:
    """Link the template to the credentials and inventories its current and preview
    versions name (those that exist), and to nothing else."""
    manifests = [
        version.manifest
        for version in (template.current_version, template.preview_version)
        if version is not None
    ]
    credentials = {name for manifest in manifests for name in credential_names(manifest)}
    names = {name for manifest in manifests for name in inventories.inventory_names(manifest)}
    template.credentials.set(Credential.objects.filter(name__in=credentials))
    template.inventories.set(Inventory.objects.filter(name__in=names))
