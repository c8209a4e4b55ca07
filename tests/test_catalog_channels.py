"""Channels: a preview source's templates are seen and requested only by platform engineers
and the teams the source lists, in the catalogue, on the template's page, at /api/templates/
and when a service is requested; promotion makes them everyone's. And every template shows
where its current version was read."""

import pytest

from catalog import sources
from catalog.models import CatalogSource, Template, TemplateVersion
from conftest import api_client_for
from factories import make_service

pytestmark = pytest.mark.django_db

SHA = "89abcdef0123456789abcdef0123456789abcdef"


@pytest.fixture
def preview(catalog, ops, teams):
    """The echo template, offered by a preview source that lists team beta."""
    source, _ = sources.create_source(
        user=ops, name="edge", url="https://git.example.com/edge.git",
        preview=True, teams=[teams["beta"]],
    )  # fmt: skip
    CatalogSource.objects.filter(pk=source.pk).update(commit=SHA)
    Template.objects.filter(slug="echo").update(source=source)
    TemplateVersion.objects.filter(template__slug="echo").update(source=source, commit=SHA)
    source.refresh_from_db()
    return source


def sees(client, user) -> dict:
    """Whether `user` sees echo in the catalogue, on its page and in the API."""
    client.force_login(user)
    api = api_client_for(user)
    listed = api.get("/api/templates/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    return {
        "catalogue": 'href="/catalog/echo/"' in client.get("/catalog/").content.decode(),
        "page": client.get("/catalog/echo/").status_code,
        "api list": any(row["slug"] == "echo" for row in rows),
        "api detail": api.get("/api/templates/echo/").status_code,
    }


def request(user, team):
    body = {"template": "echo", "team": team, "name": f"try-{team}", "inputs": {"message": "hi"}}
    return api_client_for(user).post("/api/services/", body, format="json")


def test_it_hides_a_preview_sources_templates_from_teams_it_does_not_list(client, preview, owner):
    assert sees(client, owner) == {
        "catalogue": False, "page": 404, "api list": False, "api detail": 404,
    }  # fmt: skip
    refused = request(owner, "alpha")
    assert refused.status_code == 400
    assert refused.json()["template"] == ["No template named echo."]


def test_it_shows_a_preview_sources_templates_to_its_teams_and_platform_engineers(
    client, preview, outsider, ops, teams
):
    for user in (outsider, ops):
        assert sees(client, user) == {
            "catalogue": True, "page": 200, "api list": True, "api detail": 200,
        }, user  # fmt: skip
    response = request(outsider, "beta")
    assert response.status_code == 201, response.json()


def test_it_keeps_existing_services_of_a_template_visible_to_their_team(catalog, ops, owner, teams):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="kept", user=owner)
    source, _ = sources.create_source(user=ops, name="edge", url="https://h/e.git", preview=True)
    Template.objects.filter(slug="echo").update(source=source)

    response = api_client_for(owner).get(f"/api/services/{service.pk}/")

    assert response.status_code == 200 and response.json()["template"] == "echo"


def test_it_makes_a_promoted_sources_templates_everyones(client, preview, owner, ops):
    sources.promote_source(user=ops, source=preview, commit=SHA)

    assert sees(client, owner)["api detail"] == 200
    assert request(owner, "alpha").status_code == 201
    preview.refresh_from_db()
    assert preview.commit == SHA and list(preview.teams.all()) == []


def test_it_shows_where_the_current_version_was_read(preview, owner, ops, client):
    TemplateVersion.objects.filter(template__slug="echo").update(
        commit_author="Ada Lovelace <ada@example.com>", path="templates/echo"
    )
    sources.promote_source(user=ops, source=preview)

    body = api_client_for(owner).get("/api/templates/echo/").json()
    client.force_login(owner)
    page = client.get("/catalog/echo/").content.decode()

    assert body["provenance"] == {
        "source": "edge", "commit": SHA, "author": "Ada Lovelace <ada@example.com>",
        "date": None, "path": "templates/echo",
    }  # fmt: skip
    assert SHA[:12] in page and SHA not in page.replace(f'title="{SHA}"', "")
    assert "Ada Lovelace" in page and "templates/echo" in page


def test_it_shows_a_folder_sources_version_without_a_commit(catalog, owner, client):
    folder = CatalogSource.objects.get(name="local")
    TemplateVersion.objects.filter(template__slug="echo").update(source=folder, path="echo")

    body = api_client_for(owner).get("/api/templates/echo/").json()
    client.force_login(owner)
    page = client.get("/catalog/echo/").content.decode()

    assert body["provenance"]["source"] == "local" and body["provenance"]["commit"] == ""
    assert 'data-provenance="source"' in page and 'data-provenance="commit"' not in page
