"""Know before you ask: the template's page (its request form) and /api/templates/ say how
long a service lives, whether a request waits for approval and by whom, which credentials
and hosts its runs use, and the template's version, changelog and icon; all from one
summary (catalog.presentation). And the catalogue's grid of cards, with its search."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Template
from catalog.services import sync_catalog
from conftest import write_template

pytestmark = pytest.mark.django_db


def text_of(html: str, element_id: str) -> str:
    """The text of the element with `element_id` (tags dropped, spaces collapsed)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(dd|p|section)>', html, re.S)
    assert match, f"no #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def test_it_tells_a_requester_the_lifetime_before_they_ask(signed_in, api, catalog):
    html = signed_in.get("/catalog/dev-workspace/").content.decode()

    lifetime = text_of(html, "summary-lifetime")
    assert "Expires 14 days after the request" in lifetime
    assert "at most 90 days from its creation" in lifetime
    assert "The service expires after 14 days." in text_of(html, "request-note")
    assert text_of(html, "summary-approval") == "Not needed: a request is queued at once."

    body = api.get("/api/templates/dev-workspace/").json()
    assert body["lifetime"] == {
        "default": "14d",
        "max": "90d",
        "default_seconds": 14 * 86400,
        "max_seconds": 90 * 86400,
        "text": "A service expires 14 days after it is requested and is then deprovisioned; "
        "its team can extend it to at most 90 days from its creation.",
    }
    assert body["approval"] is None


def test_a_template_without_lifetime_says_its_services_stay(signed_in, api, catalog):
    html = signed_in.get("/catalog/static-site/").content.decode()

    assert text_of(html, "summary-lifetime").startswith("Does not expire")
    assert api.get("/api/templates/static-site/").json()["lifetime"] is None


def test_it_says_when_a_request_waits_for_platform_engineers(signed_in, api, catalog):
    body = api.get("/api/templates/postgres-database/").json()
    html = signed_in.get("/catalog/postgres-database/").content.decode()

    approval = body["approval"]
    assert approval["approvers"] == "platform"
    assert approval["approvers_label"] == "platform engineers"
    assert approval["actions"] == ["provision", "update"]
    assert approval["always"] is False
    assert approval["conditions"] == [{"input": "size", "title": "Size", "values": ["large"]}]
    assert approval["expires_seconds"] == 3 * 86400
    assert approval["text"] == (
        "Requests to provision or update wait for approval by platform engineers when Size "
        "is large; undecided ones lapse after 3 days."
    )
    # The page says the same, from the same summary.
    assert text_of(html, "summary-approval") == f"Sometimes needed. {approval['text']}"
    assert "may wait for approval by platform engineers" in text_of(html, "request-note")


def test_it_names_the_team_that_approves(signed_in, api, catalog, teams):
    approval = api.get("/api/templates/gated/").json()["approval"]
    html = signed_in.get("/catalog/gated/").content.decode()

    assert approval["approvers"] == "beta"
    assert approval["approvers_label"] == "Beta or platform engineers"
    assert approval["actions"] == ["provision", "update", "deprovision"]
    assert "by Beta or platform engineers when Environment is prod" in approval["text"]
    assert "Beta or platform engineers" in text_of(html, "summary-approval")


def test_it_names_the_credentials_and_hosts_its_runs_use(signed_in, api, catalog):
    shell = api.get("/api/templates/shell-account/").json()
    html = signed_in.get("/catalog/shell-account/").content.decode()

    assert shell["credentials"] == ["shell-admin"]
    assert shell["targets"] == {"inventory": "shared-hosts", "group": "shell"}
    assert shell["host_choices"] == []
    credentials = text_of(html, "template-credentials")
    assert "shell-admin (SSH key)" in credentials and "you never see their values" in credentials
    assert text_of(html, "summary-targets") == (
        "Every host of group shell in inventory shared-hosts, over SSH."
    )

    postgres = signed_in.get("/catalog/postgres-database/").content.decode()
    assert "<code>shared-postgres</code>" in postgres
    assert text_of(postgres, "summary-targets").startswith("Only the platform's worker")


def test_it_names_the_inventory_group_an_input_picks_hosts_from(tmp_path, api, shared_shell_hosts):
    write_template(
        tmp_path,
        "picker",
        {
            "name": "Picker",
            "version": "1.0.0",
            "credentials": ["shell-admin"],
            "inputs": {
                "type": "object",
                "properties": {
                    "hosts": {
                        "type": "array",
                        "title": "Web hosts",
                        "items": {"type": "string"},
                        "x-gangplank-choices": {"inventory": "shared-hosts", "group": "web"},
                    }
                },
            },
            "playbooks": {"provision": "p.yml", "update": "p.yml", "deprovision": "p.yml"},
        },
    )
    assert sync_catalog(directory=tmp_path).problems == []

    body = api.get("/api/templates/picker/").json()
    assert body["targets"] is None and body["credentials"] == ["shell-admin"]
    assert body["host_choices"] == [
        {"input": "hosts", "title": "Web hosts", "inventory": "shared-hosts", "group": "web"}
    ]


def test_it_shows_the_version_and_changelog_newest_first(signed_in, api, catalog):
    body = api.get("/api/templates/postgres-database/").json()
    html = signed_in.get("/catalog/postgres-database/").content.decode()

    versions = [entry["version"] for entry in body["changelog"]]
    assert versions[0] == body["version"] == "1.3.1"
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
    assert re.findall(r'data-changelog-version="([^"]+)"', html) == versions
    # Markdown: `code` and *emphasis* render.
    assert "<code>shared-postgres</code> credential" in html
    assert "<em>large</em>" in html
    assert 'class="badge rounded-pill text-bg-light border template-version"' in html
    assert "v1.3.1" in html


def test_a_changelog_renders_safely_and_in_version_order(tmp_path, signed_in, api):
    folder = write_template(tmp_path, "risky")
    manifest = (folder / "template.yml").read_text()
    (folder / "template.yml").write_text(
        manifest.replace("version: 1.0.0", "version: 1.1.0")
        + "icon: database\n"
        + "changelog:\n"
        + "- version: 1.0.0\n  changes: ['First.']\n"
        + "- version: 1.1.0\n  changes:\n"
        + "  - '<script>window.pwned = 1</script>[click](javascript:alert(1)) **bold**'\n"
    )
    report = sync_catalog(directory=tmp_path)
    assert report.problems == []

    html = signed_in.get("/catalog/risky/").content.decode()
    changelog = html.split('id="template-changelog"')[1]
    assert "<script>window.pwned" not in changelog and "javascript:" not in changelog
    assert "<strong>bold</strong>" in changelog
    assert re.findall(r'data-changelog-version="([^"]+)"', changelog) == ["1.1.0", "1.0.0"]
    assert "Earlier versions" in changelog
    assert 'data-icon="database"' in html

    body = api.get("/api/templates/risky/").json()
    assert body["icon"] == "database"
    assert [entry["version"] for entry in body["changelog"]] == ["1.1.0", "1.0.0"]


def test_a_template_without_changelog_or_icon_gets_its_categorys_icon(tmp_path, api, owner):
    write_template(tmp_path, "plain")
    sync_catalog(directory=tmp_path)
    Template.objects.filter(slug="plain").update(category="Databases")

    body = api.get("/api/templates/plain/").json()
    assert body["changelog"] == [] and body["icon"] == "database"


def test_the_api_list_carries_every_summary_in_constant_queries(api, catalog):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            body = api.get("/api/templates/").json()
        assert {t["slug"] for t in body["results"]} >= {"gated", "postgres-database"}
        return len(queries)

    before = count()
    for n in range(4):
        write_template_version(catalog, n)
    assert count() == before


def write_template_version(catalog, n: int) -> None:
    """Another template whose approval names a team (one more name to look up)."""
    from catalog.models import TemplateVersion

    gated = catalog["gated"].current_version
    template = Template.objects.create(slug=f"more-{n}", name=f"More {n}", category="testing")
    manifest = {**gated.manifest, "approval": {**gated.manifest["approval"], "approvers": "alpha"}}
    version = TemplateVersion.objects.create(
        template=template, version="1.0.0", digest="x", files={}, manifest=manifest
    )
    Template.objects.filter(pk=template.pk).update(current_version=version)


# --- the catalogue page ----------------------------------------------------------------------


def cards(html: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*template-card" data-template="([^"]+)"', html)


EXAMPLES = {"postgres-database", "static-site", "shell-account", "dev-workspace"}


def test_the_catalogue_is_one_grid_of_cards_with_icon_version_and_request_button(
    signed_in, catalog
):
    html = signed_in.get("/catalog/").content.decode()

    assert html.count('id="catalog-grid"') == 1
    assert {"postgres-database", "static-site", "shell-account", "dev-workspace"} <= set(
        cards(html)
    )
    card = html.split('data-template="shell-account"')[1].split("</article>")[0]
    assert 'data-icon="terminal"' in card and 'aria-hidden="true"' in card
    assert "v1.1.3" in card
    assert 'href="/catalog/shell-account/">Request<span class="visually-hidden"> Shell account' in (
        card
    )
    database = html.split('data-template="postgres-database"')[1].split("</article>")[0]
    assert 'data-icon="database"' in database and "May need approval" in database
    workspace = html.split('data-template="dev-workspace"')[1].split("</article>")[0]
    assert "Expires after 14 days" in workspace


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("postgres", {"postgres-database"}),  # name
        ("ssh KEY", {"shell-account"}),  # description, every word, any case
        ("ACCESS", {"shell-account"}),  # category only
        ("development workspace", {"dev-workspace"}),  # category and name
        ("database nothing-like-it", set()),
    ],
)
def test_the_catalogue_searches_name_description_and_category(signed_in, catalog, query, found):
    html = signed_in.get("/catalog/", {"q": query}).content.decode()

    assert set(cards(html)) & EXAMPLES == found


def test_live_search_answers_only_the_results_and_their_count(signed_in, catalog):
    response = signed_in.get("/catalog/", {"q": "postgres"}, headers={"HX-Request": "true"})
    html = response.content.decode()

    assert "<html" not in html and "<nav" not in html
    # Descriptions too: unstorable's, and the app environment's, which uses a database.
    assert set(cards(html)) == {"postgres-database", "unstorable", "app-environment"}
    assert 'id="catalog-count" hx-swap-oob="innerHTML"' in html
    assert "3 templates match “postgres”." in html

    html = signed_in.get("/catalog/", {"q": "shell account"}, headers={"HX-Request": "true"})
    assert "1 template matches “shell account”." in html.content.decode()
    assert "HX-Request" in response["Vary"]


def test_a_search_with_unstorable_or_endless_text_is_answered_not_crashed(signed_in, catalog):
    for query in ("a" * 5000, "zq " * 300):
        response = signed_in.get("/catalog/", {"q": query})
        assert response.status_code == 200
        assert cards(response.content.decode()) == []
    assert signed_in.get("/catalog/", {"q": "\x00"}).status_code == 400
    html = signed_in.get("/catalog/", {"q": "nothing-like-it"}).content.decode()
    assert "No template matches “nothing-like-it”" in html
