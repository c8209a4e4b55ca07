"""Day 2 in Debian's chromium, with the real worker: preview a change and read its diff,
apply it and see it on the timeline, then deprovision by typing the service's name."""

import pytest

from conftest import request_via_api, wait_for_run

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture
def notes(worker, catalog, api) -> dict:
    """A provisioned drifty service, made before the browser starts (the ORM calls of the
    test's thread would otherwise run in Playwright's event loop context, on a connection
    that is never closed)."""
    created = request_via_api(api, "drifty", "notes", {"content": "one", "label": "plain"})
    assert wait_for_run(api, created["last_run"]["id"])["status"] == "succeeded"
    return created


def test_a_developer_previews_updates_and_deprovisions_a_service(
    notes,
    live_server,
    browser_page,
):
    from playwright.sync_api import expect

    page, requested = browser_page
    page.goto(f"{live_server.url}/login/?next=/services/{notes['id']}/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("notes")
    expect(page.locator("#expiry [data-expiry=later]")).to_contain_text("expires in 7 days")

    # Preview: check mode, then the diff of what would change.
    page.click("a[data-action=update]")
    expect(page.locator("#id_inputs-label")).to_be_disabled()
    expect(page.locator("#id_inputs-content")).to_have_value("one")
    page.fill("#id_inputs-content", "two")
    page.click("button[value=preview]")
    expect(page.locator("h1")).to_have_text("Preview of notes")
    expect(page.locator("#run-status [data-status=succeeded]")).to_be_visible(timeout=90_000)
    expect(page.locator("#changes [data-task='Write the file']")).to_be_visible()
    expect(page.locator("pre.diff .diff-del")).to_have_text("-plain: one")
    expect(page.locator("pre.diff .diff-add")).to_have_text("+plain: two")

    # Apply: the service updates, and the timeline says what changed.
    page.click(".breadcrumb a:text-is('notes')")
    expect(page.locator("#service-status [data-status=active]")).to_be_visible()
    page.click("a[data-action=update]")
    page.fill("#id_inputs-content", "two")
    page.click("button[value=apply]")
    expect(page.locator(".alert-success")).to_have_text("Update queued.")
    expect(page.locator("#service-status [data-status=active]")).to_be_visible(timeout=90_000)
    expect(page.locator("[data-input=content]")).to_have_text("two")
    expect(page.locator("#runs [data-changed=content]").first).to_have_text("content: one → two")

    # Deprovision on its page (where the button leads without JS; the button's dialog is
    # test_browser_dialogs.py's): the wrong name is refused, the right one goes ahead.
    page.goto(f"{live_server.url}/services/{notes['id']}/deprovision/")
    page.fill("#id_confirm", "note")
    page.click("form.card button.btn-danger")
    expect(page.locator("[data-field-error=confirm]")).to_contain_text("Type the service's name")
    page.fill("#id_confirm", "notes")
    page.click("form.card button.btn-danger")
    expect(page.locator("#service-status [data-status=deprovisioned]")).to_be_visible(
        timeout=90_000
    )
    expect(page.locator("#actions")).to_have_count(0)

    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []
