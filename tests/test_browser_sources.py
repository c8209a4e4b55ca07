"""In Debian's chromium: a template's page shows the commit its version was read at, and a
platform engineer manages a source from the Operations menu."""

import pytest

pytestmark = [pytest.mark.browser]

SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"pw-{username}")
    page.click("button[type=submit]")


def test_a_template_page_shows_the_commit_its_version_was_read_at(
    transactional_db, owner, live_server, browser_page
):
    from datetime import UTC, datetime

    from playwright.sync_api import expect

    from catalog.models import CatalogSource, Template, TemplateVersion

    source = CatalogSource.objects.create(name="platform-git", url="https://git.example.com/p.git")
    template = Template.objects.create(slug="bucket", name="Bucket", source=source)
    version = TemplateVersion.objects.create(
        template=template, version="2.1.0", digest="d", files={},
        manifest={"name": "Bucket", "version": "2.1.0", "inputs": {"type": "object"},
                  "playbooks": {}},
        source=source, commit=SHA, commit_author="Grace Hopper <grace@example.com>",
        commit_date=datetime(2026, 11, 30, 9, 15, tzinfo=UTC), path="templates/bucket",
    )  # fmt: skip
    Template.objects.filter(pk=template.pk).update(current_version=version)
    page, _ = browser_page
    sign_in(page, live_server, "owner")

    page.goto(f"{live_server.url}/catalog/")
    page.click("a[href='/catalog/bucket/']")

    commit = page.locator("[data-provenance=commit]")
    expect(commit).to_contain_text(SHA[:12])
    expect(commit).to_contain_text("Grace Hopper")
    expect(commit).to_contain_text("2026-11-30")
    expect(commit.locator("code")).to_have_attribute("title", SHA)
    expect(page.locator("[data-provenance=source]")).to_contain_text("platform-git")
    expect(page.locator("[data-provenance=source]")).to_contain_text("templates/bucket")


def test_a_platform_engineer_adds_a_source_sees_its_secret_once_and_deletes_it(
    transactional_db, ops, live_server, browser_page
):
    from playwright.sync_api import expect

    from catalog.models import CatalogSource

    page, _ = browser_page
    sign_in(page, live_server, "ops")

    page.click("#nav-operations button")
    page.click("#nav-sources")
    page.click("#new-source")
    page.fill("#id_name", "edge")
    page.fill("#id_url", "ext::sh")
    page.click("#source-form button[type=submit]")
    expect(page.locator("[data-field-error=url]")).to_contain_text("Remote helpers")

    page.fill("#id_url", "https://git.example.com/edge.git")
    page.click("#source-form button[type=submit]")
    secret = page.locator("#secret").text_content()
    assert secret and len(secret) >= 32
    expect(page.locator("#webhook-url")).to_contain_text("/api/catalog/sources/")
    page.click("text=Done")
    row = page.locator("#sources tr[data-source=edge]")
    expect(row).to_contain_text("https://git.example.com/edge.git")
    assert secret not in page.content()

    row.locator("button:text-is('Delete')").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Delete the source edge?")
    dialog.locator("button:text-is('Keep the source')").click()
    assert CatalogSource.objects.filter(name="edge").exists()
    row.locator("button:text-is('Delete')").click()
    page.locator("dialog[open] button:text-is('Delete')").click()
    expect(page.locator("#sources")).not_to_contain_text("edge.git")
    assert not CatalogSource.objects.filter(name="edge").exists()
