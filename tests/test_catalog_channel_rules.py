"""Channels' edges: what a preview keeps protected and shows, a retired template a preview
source offers again, promotion of only what the recorded sync wrote, and a source's preview
flag changed during its sync. Real git repositories over file://, real syncs."""

import shutil
from datetime import timedelta

import pytest
import yaml
from django.utils import timezone
from gitrepos import Repo
from test_inventories import INVENTORY_CATALOG, host

from catalog import sources
from catalog.models import CatalogSource, Template
from catalog.services import local_source
from catalog.sync import STALE_CLAIM, SourceUnavailable, sync_source
from conftest import api_client_for
from core.errors import Conflict
from credentials import services as credentials
from credentials.models import Credential
from inventories import services as inventories

pytestmark = pytest.mark.django_db


def request(user, team, name, slug="tryme"):
    body = {"template": slug, "team": team, "name": name, "inputs": {}}
    return api_client_for(user).post("/api/services/", body, format="json")


def fleet_catalogue(root, **changes):
    """A copy of the inventory catalogue holding only fleet (which targets shared-hosts
    with deploy-key), its manifest changed by `changes` (None removes a key)."""
    shutil.copytree(INVENTORY_CATALOG / "fleet", root / "fleet")
    path = root / "fleet" / "template.yml"
    manifest = yaml.safe_load(path.read_text())
    manifest.update(changes)
    path.write_text(yaml.safe_dump({k: v for k, v in manifest.items() if v is not None}))
    return root


# 1. What a preview keeps protected, and whose credentials it shows


@pytest.fixture
def fleet_uses(ops):
    """The inventory shared-hosts and the ssh credential deploy-key, which fleet uses."""
    hosts = inventories.create_inventory(
        actor=ops, name="shared-hosts", description="", hosts=[host("web-1")]
    )
    return hosts, Credential.objects.create(name="deploy-key", type="ssh")


def test_a_preview_keeps_the_current_versions_inventory_and_credentials_protected_and_hidden(
    client, tmp_path, ops, owner, fleet_uses
):
    hosts, key = fleet_uses
    token = Credential.objects.create(name="preview-token", type="token")
    local = local_source()
    assert sync_source(source=local, directory=fleet_catalogue(tmp_path / "v1"))
    local = sources.update_source(user=ops, source=local, preview=True)
    preview = fleet_catalogue(
        tmp_path / "v2", version="1.1.0", targets=None, credentials=["preview-token"]
    )

    assert sync_source(source=local, directory=preview)

    fleet = Template.objects.get(slug="fleet")
    assert (fleet.current_version.version, fleet.preview_version.version) == ("1.0.0", "1.1.0")
    with pytest.raises(Conflict, match="used by templates: Fleet"):
        inventories.delete_inventory(actor=ops, inventory=hosts)
    for credential in (key, token):
        with pytest.raises(Conflict):
            credentials.delete_credential(user=ops, credential=credential)
    shown = api_client_for(owner).get("/api/templates/fleet/").json()
    assert shown["credentials"] == ["deploy-key"]
    client.force_login(owner)
    assert "preview-token" not in client.get("/catalog/fleet/").content.decode()
    client.force_login(ops)  # the preview's audience sees what its version is given
    assert "<code>preview-token</code>" in client.get("/catalog/fleet/").content.decode()

    sources.update_source(user=ops, source=local, preview=False)  # released

    assert api_client_for(owner).get("/api/templates/fleet/").json()["credentials"] == [
        "preview-token"
    ]
    inventories.delete_inventory(actor=ops, inventory=hosts)
    credentials.delete_credential(user=ops, credential=key)
    with pytest.raises(Conflict):
        credentials.delete_credential(user=ops, credential=token)


def test_a_live_sync_keeps_only_what_its_version_uses(tmp_path, ops, fleet_uses):
    hosts, key = fleet_uses
    local = local_source()
    assert sync_source(source=local, directory=fleet_catalogue(tmp_path / "v1"))
    later = fleet_catalogue(tmp_path / "v2", version="1.1.0", targets=None, credentials=None)

    assert sync_source(source=local, directory=later)

    inventories.delete_inventory(actor=ops, inventory=hosts)
    credentials.delete_credential(user=ops, credential=key)


# 2. A retired template that a preview source offers again


@pytest.fixture
def retired(tmp_path, ops):
    """tryme 1.0.0 of a live source, retired with it."""
    repo = Repo(tmp_path / "old")
    repo.template("tryme")
    repo.commit("Add tryme")
    repo.push()
    old, _ = sources.create_source(user=ops, name="old", url=repo.url)
    assert sync_source(source=old)
    sources.delete_source(user=ops, source=old)
    assert Template.objects.get(slug="tryme").retired_at is not None


@pytest.fixture
def edge(tmp_path, ops, teams, retired):
    """A preview source listing beta that offers the retired tryme again, at 1.1.0."""
    repo = Repo(tmp_path / "edge")
    repo.template("tryme", "1.1.0")
    repo.commit("tryme 1.1.0")
    repo.push()
    source, _ = sources.create_source(
        user=ops, name="edge", url=repo.url, preview=True, teams=[teams["beta"]]
    )
    assert sync_source(source=source)
    source.refresh_from_db()
    return source


@pytest.fixture
def both(django_user_model, teams):
    user = django_user_model.objects.create_user(username="both", password="pw-both")
    teams["alpha"].members.add(user)
    teams["beta"].members.add(user)
    return user


def test_a_retired_template_a_preview_source_offers_again_stays_retired_for_everyone_else(
    client, edge, owner, both
):
    template = Template.objects.get(slug="tryme")
    assert template.retired_at is not None and template.preview_version.version == "1.1.0"
    for user, team in ((owner, "alpha"), (both, "alpha")):
        refused = request(user, team, f"r-{user.username}")
        assert refused.status_code == 400
        assert "retired" in refused.json()["template"][0]
    shown = api_client_for(owner).get("/api/templates/tryme/").json()
    assert shown["retired"] and shown["version"] == "1.0.0" and shown["preview_version"] is None
    client.force_login(owner)
    assert 'href="/catalog/tryme/"' not in client.get("/catalog/").content.decode()


def test_a_retired_template_a_preview_source_offers_again_is_its_audiences_preview(
    client, edge, outsider, both
):
    made = request(outsider, "beta", "try-beta")
    assert made.status_code == 201, made.json()
    assert made.json()["template_version"] == "1.1.0"
    assert request(both, "beta", "both-beta").json()["template_version"] == "1.1.0"
    client.force_login(outsider)
    assert 'href="/catalog/tryme/"' in client.get("/catalog/").content.decode()
    page = client.get("/catalog/tryme/").content.decode()
    assert "takes no new requests" not in page and 'type="submit">Request</button>' in page
    assert client.post("/catalog/tryme/", {"team": "beta", "name": "by-form"}).status_code == 302


def test_promotion_brings_a_retired_template_back_for_everyone(edge, ops, owner):
    sources.promote_source(user=ops, source=edge)

    template = Template.objects.get(slug="tryme")
    assert template.retired_at is None and template.current_version.version == "1.1.0"
    made = request(owner, "alpha", "try-alpha")
    assert made.status_code == 201 and made.json()["template_version"] == "1.1.0"


# 3. Promotion releases what the sync that read the source's commit wrote


def test_promotion_releases_none_of_the_previews_a_failed_sync_left(
    tmp_path, ops, teams, owner, settings
):
    settings.COLLECTIONS_DIR = tmp_path / "collections"
    repo = Repo(tmp_path / "repo")
    repo.template("aaa")
    repo.template("bbb")
    first = repo.commit("aaa and bbb 1.0.0")
    repo.push()
    source, _ = sources.create_source(
        user=ops, name="edge", url=repo.url, preview=True, teams=[teams["beta"]]
    )
    assert sync_source(source=source)
    sources.promote_source(user=ops, source=source, commit=first)
    repo.template("aaa", "1.1.0")
    later = repo.template("bbb", "1.1.0")
    (later / "requirements.yml").write_text("collections: []\n")
    repo.commit("aaa and bbb 1.1.0")
    repo.push()
    # bbb's collections cannot be installed: where they go is a file, not a folder.
    settings.COLLECTIONS_DIR.mkdir()
    (settings.COLLECTIONS_DIR / "bbb").write_text("in the way")
    with pytest.raises(SourceUnavailable):
        sync_source(source=source)
    aaa = Template.objects.get(slug="aaa")
    assert aaa.preview_version.version == "1.1.0"  # written before the sync failed
    source.refresh_from_db()
    assert source.commit == first

    promoted = sources.promote_source(user=ops, source=source, commit=first)

    aaa.refresh_from_db()
    assert aaa.current_version.version == "1.0.0" and aaa.current_version.commit == first
    assert request(owner, "alpha", "try-aaa", slug="aaa").json()["template_version"] == "1.0.0"
    assert promoted.previews == []
    (settings.COLLECTIONS_DIR / "bbb").unlink()
    assert sync_source(source=source)  # the next good sync's previews are promoted
    sources.promote_source(user=ops, source=source)
    current = {t.slug: t.current_version.version for t in Template.objects.all()}
    assert current == {"aaa": "1.1.0", "bbb": "1.1.0"}


def test_turning_preview_off_drops_the_previews_a_failed_sync_left(tmp_path, ops, teams, settings):
    settings.COLLECTIONS_DIR = tmp_path / "collections"
    repo = Repo(tmp_path / "repo")
    repo.template("aaa")
    repo.template("bbb")
    repo.commit("aaa and bbb 1.0.0")
    repo.push()
    source, _ = sources.create_source(user=ops, name="edge", url=repo.url)
    assert sync_source(source=source)
    source = sources.update_source(user=ops, source=source, preview=True, teams=[teams["beta"]])
    repo.template("aaa", "1.1.0")
    (repo.template("bbb", "1.1.0") / "requirements.yml").write_text("collections: []\n")
    repo.commit("aaa and bbb 1.1.0")
    repo.push()
    settings.COLLECTIONS_DIR.mkdir()
    (settings.COLLECTIONS_DIR / "bbb").write_text("in the way")
    with pytest.raises(SourceUnavailable):
        sync_source(source=source)

    sources.update_source(user=ops, source=source, preview=False, teams=[])

    aaa = Template.objects.get(slug="aaa")
    assert aaa.current_version.version == "1.0.0" and aaa.preview_version is None


# 4. Whether a source is a preview does not change under a running sync


def test_it_refuses_to_change_preview_while_a_sync_runs(tmp_path, ops, teams, client):
    repo = Repo(tmp_path / "repo")
    repo.template("tryme")
    repo.commit("Add tryme")
    repo.push()
    source, _ = sources.create_source(user=ops, name="edge", url=repo.url, preview=True)
    running = CatalogSource.objects.filter(pk=source.pk)
    running.update(sync_started_at=timezone.now())

    with pytest.raises(Conflict, match="A sync of edge is running"):
        sources.update_source(user=ops, source=source, preview=False)
    api = api_client_for(ops)
    answer = api.patch(f"/api/catalog/sources/{source.pk}/", {"preview": False}, format="json")
    assert answer.status_code == 409 and "sync of edge is running" in answer.json()["detail"]
    client.force_login(ops)
    form = {"name": "edge", "url": repo.url, "branch": "main", "path": "", "host_keys": ""}
    page = client.post(f"/catalog/-/sources/{source.pk}/", form)
    assert page.status_code == 409 and "sync of edge is running" in page.content.decode()
    assert CatalogSource.objects.get(pk=source.pk).preview
    # Its teams, read by every request, may change; a stale claim (a dead sync) is no sync.
    sources.update_source(user=ops, source=source, teams=[teams["beta"]])
    running.update(sync_started_at=timezone.now() - STALE_CLAIM - timedelta(seconds=1))
    assert not sources.update_source(user=ops, source=source, preview=False, teams=[]).preview
