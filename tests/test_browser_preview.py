"""A preview you can act on, in Debian's chromium with the real worker: preview a branch rename
of a Developer workspace, read what check mode could not predict, apply it from the preview's
page, then read and download the raw log."""

import shutil
from pathlib import Path

import pytest

from conftest import request_via_api, wait_for_run

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture
def workspace(worker, catalog, api, settings):
    """A provisioned workspace, made before the browser starts (see test_browser_day2), in a
    folder no earlier session left (the template would refuse to take it over); removed after."""
    path = Path(settings.RESOURCES_DIR) / "workspaces" / "alpha" / "webby"
    shutil.rmtree(path, ignore_errors=True)
    created = request_via_api(
        api, "dev-workspace", "webby", {"default_branch": "main", "with_venv": False}
    )
    assert wait_for_run(api, created["last_run"]["id"])["status"] == "succeeded"
    yield created
    shutil.rmtree(path, ignore_errors=True)


def test_a_developer_applies_a_preview_from_its_page_and_reads_the_raw_log(
    workspace, live_server, browser_page
):
    from playwright.sync_api import expect

    page, _ = browser_page
    page.goto(f"{live_server.url}/login/?next=/services/{workspace['id']}/update/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")

    page.fill("#id_inputs-default_branch", "trunk")
    page.click("button[value=preview]")
    expect(page.locator("h1")).to_have_text("Preview of webby")
    expect(page.locator("#run-status [data-status=succeeded]")).to_be_visible(timeout=90_000)
    preview_url = page.url
    unpredicted = page.locator("#unpredicted [data-task='Rename the current branch']")
    expect(unpredicted).to_contain_text("Command would have run if not in check mode")

    page.get_by_role("button", name="Apply these changes").click()
    expect(page.locator("h1")).to_have_text("Update of webby")
    expect(page.locator(".alert-success")).to_contain_text("Update queued: run")
    expect(page.locator("#applies-preview a")).to_have_attribute(
        "href", preview_url.removeprefix(live_server.url)
    )
    expect(page.locator("#run-status [data-status=succeeded]")).to_be_visible(timeout=90_000)
    run_url = page.url

    with page.expect_download() as download:
        page.get_by_role("link", name="Download log").click()
    run_id = run_url.rstrip("/").rsplit("/", 1)[-1]
    assert download.value.suggested_filename == f"run-{run_id}.log"
    assert "TASK [Rename the current branch]" in download.value.path().read_text()

    page.get_by_role("link", name="Raw log").click()
    expect(page.locator("body")).to_contain_text("changed: [localhost]")

    # Applied, the preview offers it no more.
    page.goto(preview_url)
    expect(page.locator("#unpredicted")).to_be_visible()
    expect(page.get_by_role("button", name="Apply these changes")).to_have_count(0)
