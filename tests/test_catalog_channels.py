"""Channels: a preview source's syncs write preview versions, which only platform engineers
and the teams the source lists see, request and upgrade to; everyone else keeps the current
version. Promotion makes the synced commit's previews everyone's without reading the branch.
Every template shows where its version was read. Real git repositories over file://."""

import pytest
from gitrepos import Repo

from audit.models import AuditEvent
from catalog import sources
from catalog.models import CatalogSource, Template, TemplateVersion
from catalog.sync import sync_source
from conftest import api_client_for
from core.errors import Conflict
from factories import make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def repo(tmp_path):
    repo = Repo(tmp_path / "repo")
    repo.template("tryme")
    repo.commit("Add tryme")
    repo.push()
    return repo


@pytest.fixture
def edge(repo, ops, teams):
    """A preview source listing team beta, synced once: tryme 1.0.0 is a preview."""
    source, _ = sources.create_source(
        user=ops, name="edge", url=repo.url, preview=True, teams=[teams["beta"]]
    )
    assert sync_source(source=source) is not None
    source.refresh_from_db()
    return source


@pytest.fixture
def both(django_user_model, teams):
    """A member of alpha (not listed) and beta (listed)."""
    user = django_user_model.objects.create_user(username="both", password="pw-both")
    teams["alpha"].members.add(user)
    teams["beta"].members.add(user)
    return user


def sees(client, user, slug="tryme") -> dict:
    """Whether `user` sees the template in the catalogue, on its page and in the API."""
    client.force_login(user)
    api = api_client_for(user)
    listed = api.get("/api/templates/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    return {
        "catalogue": f'href="/catalog/{slug}/"' in client.get("/catalog/").content.decode(),
        "page": client.get(f"/catalog/{slug}/").status_code,
        "api list": any(row["slug"] == slug for row in rows),
        "api detail": api.get(f"/api/templates/{slug}/").status_code,
    }


def request(user, team, name=None):
    body = {"template": "tryme", "team": team, "name": name or f"try-{team}", "inputs": {}}
    return api_client_for(user).post("/api/services/", body, format="json")


def push_version(repo, source, version="1.1.0") -> str:
    repo.template("tryme", version, description=f"Now {version}.")
    sha = repo.commit(f"tryme {version}")
    repo.push()
    assert sync_source(source=source) is not None
    return sha


def test_it_hides_a_preview_sources_new_template_from_teams_it_does_not_list(client, edge, owner):
    assert sees(client, owner) == {
        "catalogue": False, "page": 404, "api list": False, "api detail": 404,
    }  # fmt: skip
    refused = request(owner, "alpha")
    assert refused.status_code == 400
    assert refused.json()["template"] == ["No template named tryme."]
    template = Template.objects.get(slug="tryme")
    assert template.current_version is None and template.preview_version.version == "1.0.0"


def test_it_shows_a_preview_sources_new_template_to_its_teams_and_platform_engineers(
    client, edge, outsider, ops
):
    for user in (outsider, ops):
        assert sees(client, user) == {
            "catalogue": True, "page": 200, "api list": True, "api detail": 200,
        }, user  # fmt: skip
    response = request(outsider, "beta")
    assert response.status_code == 201, response.json()
    assert response.json()["template_version"] == "1.0.0"
    client.force_login(outsider)
    form = client.get("/catalog/tryme/").content.decode()
    assert 'type="submit">Request</button>' in form  # not disabled
    made = client.post("/catalog/tryme/", {"team": "beta", "name": "from-form"})
    assert made.status_code == 302, made.content.decode()


def test_a_listed_user_requesting_for_an_unlisted_team_of_theirs_gets_nothing_unreleased(
    edge, both
):
    refused = request(both, "alpha")

    assert refused.status_code == 400
    assert refused.json()["template"] == ["No template named tryme is offered to alpha."]
    assert request(both, "beta").status_code == 201


@pytest.fixture
def live(repo, ops, teams):
    """tryme 1.0.0 released to everyone by a live source, later made a preview channel
    listing beta; a service of it for alpha and one for beta."""
    source, _ = sources.create_source(user=ops, name="edge", url=repo.url)
    assert sync_source(source=source) is not None
    source = sources.update_source(user=ops, source=source, preview=True, teams=[teams["beta"]])
    template = Template.objects.get(slug="tryme")
    services = {
        slug: make_service(template=template, team=teams[slug], name=f"old-{slug}")
        for slug in ("alpha", "beta")
    }
    return source, services


def test_a_new_version_on_a_preview_channel_reaches_only_its_audience(
    client, repo, live, owner, outsider, both
):
    source, _ = live
    push_version(repo, source)

    template = Template.objects.get(slug="tryme")
    assert (template.current_version.version, template.preview_version.version) == (
        "1.0.0", "1.1.0",
    )  # fmt: skip
    assert sees(client, owner)["api detail"] == 200  # the live version stays everyone's
    assert request(owner, "alpha").json()["template_version"] == "1.0.0"
    assert request(both, "alpha", "both-alpha").json()["template_version"] == "1.0.0"
    assert request(outsider, "beta").json()["template_version"] == "1.1.0"
    assert api_client_for(owner).get("/api/templates/tryme/").json()["preview_version"] is None
    seen = api_client_for(outsider).get("/api/templates/tryme/").json()
    assert (seen["version"], seen["preview_version"]["version"]) == ("1.0.0", "1.1.0")
    assert seen["preview_version"]["provenance"]["source"] == "edge"
    for user, versions in ((owner, {"1.0.0"}), (outsider, {"1.0.0", "1.1.0"})):
        restricted = TemplateVersion.objects.restrict(user).filter(template__slug="tryme")
        assert set(restricted.values_list("version", flat=True)) == versions, user


def test_only_the_audiences_services_are_offered_and_may_upgrade_to_a_preview(
    repo, live, owner, outsider
):
    source, services = live
    push_version(repo, source)
    alpha, beta = api_client_for(owner), api_client_for(outsider)

    assert alpha.get(f"/api/services/{services['alpha'].pk}/").json()["upgrade_available"] is None
    assert beta.get(f"/api/services/{services['beta'].pk}/").json()["upgrade_available"] == "1.1.0"
    refused = alpha.post(f"/api/services/{services['alpha'].pk}/upgrade/", {}, format="json")
    assert refused.status_code == 409 and "newest version" in refused.json()["detail"]
    upgraded = beta.post(f"/api/services/{services['beta'].pk}/upgrade/", {}, format="json")
    assert upgraded.status_code == 202, upgraded.json()


def test_a_sync_of_the_current_version_clears_the_preview(repo, live, ops):
    source, _ = live
    push_version(repo, source)
    repo.template("tryme", "1.0.0")  # back to the released files
    repo.commit("Revert tryme")
    repo.push()

    assert sync_source(source=source) is not None

    template = Template.objects.get(slug="tryme")
    assert template.preview_version is None and template.current_version.version == "1.0.0"


def test_promotion_publishes_the_synced_commits_previews_without_reading_the_branch(
    client, repo, edge, owner, ops
):
    synced = edge.commit
    repo.template("tryme", "2.0.0")
    repo.commit("Unsynced tryme 2.0.0")
    repo.push()

    promoted = sources.promote_source(user=ops, source=edge, commit=synced)

    template = Template.objects.get(slug="tryme")
    assert template.current_version.version == "1.0.0" and template.preview_version is None
    assert template.current_version.commit == synced
    assert promoted.preview and promoted.commit == synced  # still a preview channel
    assert sees(client, owner)["api detail"] == 200
    assert request(owner, "alpha").status_code == 201
    entry = AuditEvent.objects.get(action="catalog.source_promoted")
    assert entry.changes["commit"] == [None, synced]
    assert entry.changes["promoted"] == [None, {"tryme": "1.0.0"}]
    assert entry.changes["promoted_at"][1] == promoted.promoted_at.isoformat()


def test_after_promotion_the_next_push_is_a_preview_again(repo, edge, ops, owner, outsider):
    sources.promote_source(user=ops, source=edge)
    push_version(repo, edge)

    assert request(owner, "alpha").json()["template_version"] == "1.0.0"
    assert request(outsider, "beta").json()["template_version"] == "1.1.0"


def test_promotion_is_refused_while_a_sync_runs_and_before_any_sync(edge, ops, repo):
    CatalogSource.objects.filter(pk=edge.pk).update(sync_started_at="2026-01-01T00:00Z")
    with pytest.raises(Conflict, match="A sync of edge is running"):
        sources.promote_source(user=ops, source=edge)
    never, _ = sources.create_source(user=ops, name="never", url=repo.url, preview=True)
    with pytest.raises(Conflict, match="never was never synced"):
        sources.promote_source(user=ops, source=never)
    with pytest.raises(Conflict, match="not 0123456789ab"):
        CatalogSource.objects.filter(pk=edge.pk).update(sync_started_at=None)
        sources.promote_source(user=ops, source=edge, commit="0123456789ab")

    assert Template.objects.get(slug="tryme").current_version is None
    assert not AuditEvent.objects.filter(action="catalog.source_promoted").exists()


def test_the_api_answers_409_to_a_promotion_during_a_sync(edge, ops):
    CatalogSource.objects.filter(pk=edge.pk).update(sync_started_at="2026-01-01T00:00Z")

    response = api_client_for(ops).post(f"/api/catalog/sources/{edge.pk}/promote/", {})

    assert response.status_code == 409 and "sync" in response.json()["detail"]


def test_deleting_a_preview_source_leaks_none_of_its_previews(client, repo, edge, owner, ops):
    sources.delete_source(user=ops, source=edge)

    assert sees(client, owner) == {
        "catalogue": False, "page": 404, "api list": False, "api detail": 404,
    }  # fmt: skip
    assert request(owner, "alpha").status_code == 400
    template = Template.objects.get(slug="tryme")
    assert template.source is None and template.preview_version is None
    assert template.retired_at is not None
    assert not TemplateVersion.objects.restrict(owner).filter(template=template).exists()


def test_turning_preview_off_releases_the_pending_previews(repo, live, ops, owner):
    source, _ = live
    push_version(repo, source)

    sources.update_source(user=ops, source=source, preview=False, teams=[])

    assert request(owner, "alpha").json()["template_version"] == "1.1.0"
    entry = AuditEvent.objects.filter(action="catalog.source_updated").latest("pk")
    assert entry.changes["released"] == [None, {"tryme": "1.1.0"}]


def test_the_audience_sees_a_preview_badge_on_the_card_the_page_and_the_form(
    client, repo, live, owner, outsider
):
    source, _ = live
    push_version(repo, source)

    client.force_login(outsider)
    card = client.get("/catalog/").content.decode()
    page = client.get("/catalog/tryme/").content.decode()
    assert "data-preview" in card and "v1.1.0" in card
    assert "data-preview" in page and 'id="preview-note"' in page and "v1.1.0" in page
    client.force_login(owner)
    assert "data-preview" not in client.get("/catalog/").content.decode()
    page = client.get("/catalog/tryme/").content.decode()
    assert "data-preview" not in page and "v1.0.0" in page


def test_catalogue_status_shows_each_sources_teams_and_pending_previews(client, edge, ops):
    client.force_login(ops)

    page = client.get("/catalog/-/status/").content.decode()

    assert "for Beta" in page and 'data-pending-previews="1"' in page


def test_it_shows_where_the_current_version_was_read(repo, edge, owner, ops, client):
    sources.promote_source(user=ops, source=edge)

    body = api_client_for(owner).get("/api/templates/tryme/").json()
    client.force_login(owner)
    page = client.get("/catalog/tryme/").content.decode()

    assert body["provenance"] == {
        "source": "edge", "commit": edge.commit, "author": "Ada Lovelace <ada@example.org>",
        "date": body["provenance"]["date"], "path": "tryme",
    }  # fmt: skip
    assert body["provenance"]["date"] is not None
    assert edge.commit[:12] in page and "Ada Lovelace" in page


def test_it_shows_a_folder_sources_version_without_a_commit(catalog, owner, client):
    folder = CatalogSource.objects.get(name="local")
    TemplateVersion.objects.filter(template__slug="echo").update(source=folder, path="echo")

    body = api_client_for(owner).get("/api/templates/echo/").json()
    client.force_login(owner)
    page = client.get("/catalog/echo/").content.decode()

    assert body["provenance"]["source"] == "local" and body["provenance"]["commit"] == ""
    assert 'data-provenance="source"' in page and 'data-provenance="commit"' not in page
    assert body["preview_version"] is None


def test_a_services_upgrade_offer_costs_no_query_per_service(repo, ops, owner, teams, outsider):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    source, _ = sources.create_source(user=ops, name="live", url=repo.url)
    sync_source(source=source)
    sources.update_source(user=ops, source=source, preview=True, teams=[teams["beta"]])
    push_version(repo, source)  # tryme 1.1.0: a preview for beta, 1.0.0 for alpha
    tryme = Template.objects.get(slug="tryme")

    def counted(user, team, services: int) -> tuple[int, list]:
        for _ in range(services):
            made = Template.objects.get(slug="tryme").services.filter(team=teams[team]).count()
            make_service(template=tryme, team=teams[team], name=f"s{team}{made}", user=user)
        api = api_client_for(user)
        with CaptureQueriesContext(connection) as queries:
            body = api.get("/api/services/").json()
        return len(queries), [row["upgrade_available"] for row in body["results"]]

    few = counted(owner, "alpha", 2)
    more = counted(owner, "alpha", 4)
    few_beta = counted(outsider, "beta", 2)
    more_beta = counted(outsider, "beta", 4)

    assert few[0] == more[0] and set(more[1]) == {None}
    assert few_beta[0] == more_beta[0] and set(more_beta[1]) == {"1.1.0"}
