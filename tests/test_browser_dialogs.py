"""What destroys asks first, in Debian's chromium, all by keyboard: canceling a run, revoking
a token and deprovisioning a service open a dialog with the focus on the safe choice; Escape
or "Keep" leaves everything as it was, the other button goes ahead. No worker: the run stays
queued in a queue of the test's own, where canceling it ends it at once."""

import pytest

from factories import make_service

pytestmark = [pytest.mark.browser]


@pytest.fixture
def things(transactional_db, own_queue, catalog, teams, owner) -> dict:
    """Made before the browser starts: an active service with a queued update, a token."""
    from accounts.services import create_token
    from provisioning import services

    service = make_service(template=catalog["echo"], team=teams["alpha"], name="talker", user=owner)
    run = services.update_service(user=owner, service=service, inputs={"message": "new"})
    create_token(user=owner, name="ci-deploy")
    return {"service": service, "run": run}


def test_cancel_revoke_and_deprovision_ask_first_by_keyboard(things, live_server, browser_page):
    from playwright.sync_api import expect

    page, _ = browser_page
    base, service, run = live_server.url, things["service"], things["run"]
    dialog = page.locator("dialog#confirm-dialog")
    page.goto(f"{base}/login/?next=/services/{service.pk}/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.press("#id_password", "Enter")

    # Cancel, on the service page and on the run's: Escape, then Keep, leave the run
    # queued; the other button cancels it.
    page.locator("#actions button[data-action=cancel]").focus()
    page.keyboard.press("Enter")
    expect(dialog.locator("h2")).to_have_text("Cancel this update run?")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.goto(f"{base}/runs/{run.pk}/")
    cancel = page.locator("#run-actions button[data-action=cancel]")
    cancel.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Cancel this update run?")
    expect(page.get_by_role("button", name="Keep the run")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(cancel).to_be_focused()
    page.keyboard.press("Space")
    expect(dialog).to_be_visible()
    page.keyboard.press("Enter")  # on Keep
    expect(dialog).to_be_hidden()
    page.reload()
    expect(page.locator("#run-status [data-status=queued]")).to_be_visible()
    page.locator("#run-actions button[data-action=cancel]").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Cancel the run")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#run-status [data-status=canceled]")).to_be_visible()

    # Revoke: kept, then revoked.
    page.goto(f"{base}/tokens/")
    revoke = page.locator("tr[data-token=ci-deploy] button")
    revoke.focus()
    page.keyboard.press("Enter")
    expect(dialog.locator("h2")).to_have_text("Revoke the token ci-deploy?")
    expect(page.get_by_role("button", name="Keep the token")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.reload()
    expect(page.locator("tr[data-token=ci-deploy]")).to_be_visible()
    page.locator("tr[data-token=ci-deploy] button").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.locator(".alert-success")).to_have_text("Token revoked.")
    expect(page.locator("tr[data-token=ci-deploy]")).to_have_count(0)

    # Deprovision: the dialog asks for the name; Escape keeps the service.
    page.goto(f"{base}/services/{service.pk}/")
    expect(page.locator("#service-status [data-status=active]")).to_be_visible()
    deprovision = page.locator("a[data-action=deprovision]")
    deprovision.focus()
    page.keyboard.press("Enter")
    name = dialog.get_by_label("Type talker to confirm.")
    expect(name).to_be_focused()
    go = dialog.get_by_role("button", name="Deprovision")
    expect(go).to_be_disabled()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.reload()
    expect(page.locator("#service-status [data-status=active]")).to_be_visible()
    page.locator("a[data-action=deprovision]").focus()
    page.keyboard.press("Enter")
    page.keyboard.type("talk")
    page.keyboard.press("Enter")  # not the name yet: nothing happens
    expect(go).to_be_disabled()
    expect(dialog).to_be_visible()
    page.keyboard.type("er")
    expect(go).to_be_enabled()
    page.keyboard.press("Enter")
    expect(page.locator(".alert-success")).to_have_text("Deprovision queued.")
    expect(page.locator("#service-status [data-status=deprovisioning]")).to_be_visible()
