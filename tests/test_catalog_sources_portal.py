"""The portal's pages for the catalogue's sources, and the sources on Catalogue status."""

import re

import pytest

from catalog import sources
from catalog.models import CatalogSource, CatalogSync
from core import secrets

pytestmark = pytest.mark.django_db

SHA = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture
def pe_client(client, ops):
    client.force_login(ops)
    return client


def test_it_creates_a_source_and_shows_its_secret_once_with_the_webhook_url(pe_client, teams):
    response = pe_client.post(
        "/catalog/-/sources/new/",
        {"name": "edge", "url": "https://git.example.com/edge.git", "branch": "main",
         "preview": "on", "teams": ["beta"]},
    )  # fmt: skip

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    page = response.content.decode()
    source = CatalogSource.objects.get(name="edge")
    secret = secrets.decrypt(token=source.webhook_secret)["secret"]
    assert f'<code id="secret">{secret}</code>' in page
    assert f"/api/catalog/sources/{source.pk}/webhook/" in page
    for forge in ("GitHub", "GitLab", "Gitea"):
        assert forge in page
    assert [team.slug for team in source.teams.all()] == ["beta"] and source.preview
    assert secret not in pe_client.get(f"/catalog/-/sources/{source.pk}/").content.decode()
    assert secret not in pe_client.get("/catalog/-/sources/").content.decode()


def test_it_shows_the_services_refusals_on_the_form(pe_client):
    response = pe_client.post(
        "/catalog/-/sources/new/",
        {"name": "edge", "url": "ext::sh", "branch": "a..b", "path": "/abs"},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Remote helpers" in page and "cannot hold &#x27;..&#x27;" in page
    assert "relative" in page
    assert not CatalogSource.objects.exists()


def test_it_never_sends_a_typed_secret_back_with_the_forms_errors(pe_client):
    typed = "TopSecretValue12345-and-some-more"
    response = pe_client.post(
        "/catalog/-/sources/new/", {"name": "edge", "url": "ext::sh", "secret": typed}
    )

    assert response.status_code == 400
    assert typed not in response.content.decode()


def test_it_edits_a_source(pe_client, ops):
    source, _ = sources.create_source(user=ops, name="edge", url="https://h/e.git")

    response = pe_client.post(
        f"/catalog/-/sources/{source.pk}/",
        {"name": "edge", "url": "https://h/e.git", "branch": "release", "path": "tpl"},
    )

    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.branch, source.path) == ("release", "tpl")


def test_it_rotates_the_secret_and_shows_the_new_one(pe_client, ops):
    source, old = sources.create_source(user=ops, name="edge", url="https://h/e.git")

    response = pe_client.post(f"/catalog/-/sources/{source.pk}/rotate-secret/")

    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    new = re.search(r'<code id="secret">([^<]+)</code>', page)[1]
    assert new != old
    source.refresh_from_db()
    assert secrets.decrypt(token=source.webhook_secret) == {"secret": new}


def test_it_promotes_from_the_list_and_says_why_when_it_cannot(pe_client, ops):
    source, _ = sources.create_source(user=ops, name="edge", url="https://h/e.git", preview=True)
    CatalogSource.objects.filter(pk=source.pk).update(commit=SHA)
    listing = pe_client.get("/catalog/-/sources/").content.decode()
    assert 'data-confirm="Promote edge?"' in listing and f'value="{SHA}"' in listing

    stale = pe_client.post(
        f"/catalog/-/sources/{source.pk}/promote/", {"commit": "0" * 40}, follow=True
    )
    done = pe_client.post(f"/catalog/-/sources/{source.pk}/promote/", {"commit": SHA})

    assert "not 000000000000" in stale.content.decode()
    assert done.status_code == 302
    source.refresh_from_db()
    assert source.preview and source.promoted_at is not None  # still a preview channel


def test_it_deletes_a_source_after_asking(pe_client, ops):
    source, _ = sources.create_source(user=ops, name="edge", url="https://h/e.git")
    listing = pe_client.get("/catalog/-/sources/").content.decode()
    assert 'data-confirm="Delete the source edge?"' in listing

    asked = pe_client.get(f"/catalog/-/sources/{source.pk}/delete/")
    deleted = pe_client.post(f"/catalog/-/sources/{source.pk}/delete/")

    assert asked.status_code == 200 and "are retired" in asked.content.decode()
    assert deleted.status_code == 302
    assert not CatalogSource.objects.filter(pk=source.pk).exists()


def test_it_refuses_to_delete_the_catalogue_folder(pe_client):
    folder = CatalogSource.objects.create(name="local", kind="folder", url="/srv/catalog")

    response = pe_client.post(f"/catalog/-/sources/{folder.pk}/delete/")

    assert response.status_code == 409
    assert CatalogSource.objects.filter(pk=folder.pk).exists()


def test_it_queues_a_sync_from_the_list(pe_client, ops):
    source, _ = sources.create_source(user=ops, name="edge", url="https://h/e.git")

    response = pe_client.post(f"/catalog/-/sources/{source.pk}/sync/", follow=True)

    assert response.status_code == 200
    assert "edge will be synced" in response.content.decode()


def test_it_lists_every_source_on_catalogue_status_with_its_last_syncs_problems(pe_client, ops):
    git, _ = sources.create_source(
        user=ops, name="edge", url="https://git.example.com/edge.git", branch="prod",
        path="templates", preview=True,
    )  # fmt: skip
    CatalogSource.objects.filter(pk=git.pk).update(
        commit=SHA, last_error="fatal: could not read from remote repository"
    )
    CatalogSource.objects.create(name="local", kind="folder", url="/srv/catalog")
    old = {"file": "old/template.yml", "field": "", "message": "an older problem"}
    CatalogSync.objects.create(directory="edge", source=git, problems=[old])
    conflict = {"file": "web/template.yml", "field": "slug", "message": "web is offered by local"}
    CatalogSync.objects.create(directory="edge", source=git, problems=[conflict])

    page = pe_client.get("/catalog/-/status/").content.decode()

    assert 'data-source="edge"' in page and 'data-source="local"' in page
    for shown in ("https://git.example.com/edge.git", "prod", "templates", SHA[:12], "preview"):
        assert shown in page
    assert "could not read from remote repository" in page
    assert "web is offered by local" in page and "an older problem" not in page
    assert "Folder on the server" in page


def test_it_edits_the_catalogue_folders_channel_and_nothing_else(pe_client, teams):
    from catalog.services import local_source

    folder = local_source()
    edit = f"/catalog/-/sources/{folder.pk}/"

    page = pe_client.get(edit).content.decode()
    saved = pe_client.post(edit, {"preview": "on", "teams": ["alpha"], "name": "renamed"})

    assert 'name="branch"' in page and 'type="hidden"' in page
    assert saved.status_code == 302
    folder.refresh_from_db()
    assert folder.name == "local" and folder.preview  # a disabled field keeps its value
    assert [team.slug for team in folder.teams.all()] == ["alpha"]


def test_it_offers_a_forced_sync_once_a_sync_failed_and_the_worker_carries_it_out(
    pe_client, worker, tmp_path
):
    from gitrepos import Repo

    from catalog import sync
    from testkit import wait_for

    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    repo.commit("Add alpha")
    repo.push()
    source = CatalogSource.objects.create(name="edge", url=repo.url)
    sync.sync_source(source=source)
    assert "data-force-sync" not in pe_client.get("/catalog/-/sources/").content.decode()
    repo.template("alpha", "2.0.0")
    rewritten = repo.rewrite("Alpha, rewritten")
    repo.push(force=True)
    with pytest.raises(sync.SourceUnavailable):
        sync.sync_source(source=source)

    listing = pe_client.get("/catalog/-/sources/").content.decode()
    pe_client.post(f"/catalog/-/sources/{source.pk}/sync/", {"force": "on"})

    assert "data-force-sync" in listing and "history was rewritten" in listing
    source = wait_for(
        lambda: CatalogSource.objects.filter(pk=source.pk, commit=rewritten).first(),
        what="the forced sync",
    )
    assert source.last_error == ""
