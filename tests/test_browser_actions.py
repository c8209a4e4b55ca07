"""Custom day-2 actions in Debian's chromium, with the real worker: the service page's
buttons, an action's form page, and the confirmation a destructive action asks for."""

import pytest

from conftest import request_via_api, wait_for_run

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture
def operable(worker, catalog, api) -> dict:
    """A provisioned operable service, made before the browser starts (see
    test_browser_day2.py's fixture for why)."""
    created = request_via_api(api, "operable", "ops-box", {"message": "hello"})
    assert wait_for_run(api, created["last_run"]["id"])["status"] == "succeeded"
    return created


def test_a_developer_runs_custom_actions_from_the_service_page(operable, live_server, browser_page):
    from playwright.sync_api import expect

    page, _ = browser_page
    page.goto(f"{live_server.url}/login/?next=/services/{operable['id']}/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("ops-box")
    actions = page.locator("#actions")
    # An action with inputs leads to its form; one without posts from its button.
    expect(actions.locator("a[data-action=custom-note]")).to_have_text("Write a note…")
    expect(actions.locator("form button[data-action=custom-reset]")).to_have_text("Reset notes")
    expect(actions.locator("[data-action=custom-repair]")).to_be_visible()

    # A destructive action asks first: keeping things as they are sends nothing.
    dialog = page.locator("dialog#confirm-dialog")
    actions.locator("button[data-action=custom-reset]").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Reset notes ops-box?")
    expect(dialog.locator("p").first).to_have_text("Forgets the notes written so far.")
    dialog.get_by_role("button", name="Keep things as they are").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#last-run-title")).to_contain_text("Provision")
    # Confirming queues the run, which the page follows to its end.
    actions.locator("button[data-action=custom-reset]").click()
    dialog.get_by_role("button", name="Reset notes").click()
    expect(page.locator(".alert-success")).to_have_text("Reset notes queued.")
    expect(page.locator("#last-run-title")).to_contain_text("Reset notes")
    expect(page.locator("[data-output=note]")).to_have_text("reset by reset", timeout=90_000)

    # The form page: the action's own inputs, checked, then run.
    page.locator("#actions a[data-action=custom-note]").click()
    expect(page.locator("h1")).to_have_text("Write a note ops-box")
    expect(page.locator("#action-description")).to_have_text(
        "Writes a note into the service's folder and reports it."
    )
    expect(page.locator("#id_inputs-times")).to_have_value("1")
    page.click("button[data-action=run]")
    expect(page.locator("[data-field-error='inputs-text']")).to_be_visible()
    page.fill("#id_inputs-text", "from the portal")
    page.fill("#id_inputs-times", "2")
    page.click("button[data-action=run]")
    expect(page.locator(".alert-success")).to_have_text("Write a note queued.")
    expect(page.locator("h1")).to_have_text("ops-box")
    expect(page.locator("[data-output=note]")).to_have_text(
        "from the portal x2 by note on hello", timeout=90_000
    )
    expect(page.locator("#service-status [data-status=active]")).to_be_visible()


def test_a_destructive_action_with_inputs_confirms_on_submit(operable, live_server, browser_page):
    from playwright.sync_api import expect

    page, _ = browser_page
    page.goto(f"{live_server.url}/login/?next=/services/{operable['id']}/actions/purge/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Purge ops-box")
    dialog = page.locator("dialog#confirm-dialog")

    page.click("button[data-action=run]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Purge ops-box?")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("h1")).to_have_text("Purge ops-box")  # nothing was sent

    page.select_option("#id_inputs-depth", "deep")
    page.click("button[data-action=run]")
    dialog.get_by_role("button", name="Purge").click()
    # Deep purges wait for the beta team's approval: the page says so.
    expect(page.locator(".alert-info")).to_contain_text("Purge requested: it waits for")
    expect(page.locator("#last-run-title")).to_contain_text("Purge")
