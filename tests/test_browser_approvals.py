"""An approver in Debian's chromium: the inbox badge, the request with its inputs, approve
with a comment; then the requester sees it run on the real worker."""

import pytest

from conftest import request_via_api

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture
def waiting(worker, catalog, api) -> dict:
    """A production request of the gated template by alpha's owner, waiting for beta."""
    return request_via_api(api, "gated", "payments", {"message": "v2", "environment": "prod"})


def test_an_approver_approves_a_request_from_the_inbox(
    waiting,
    outsider,
    live_server,
    browser_page,
):
    from playwright.sync_api import expect

    page, requested = browser_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "outsider")
    page.fill("#id_password", "pw-outsider")
    page.click("button[type=submit]")

    expect(page.locator("#nav-approvals .badge")).to_have_text("1")
    page.click("#nav-approvals")
    expect(page.locator("h1")).to_have_text("Approvals")
    row = page.locator("#approvals tr[data-approval]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Provision of payments")
    expect(row).to_contain_text("by owner")
    row.locator("a[data-action=decide]").click()

    expect(page.locator("#approval-inputs [data-input=environment]")).to_have_text("prod")
    page.click("#decide button[value=reject]")  # without a comment: refused on the form
    expect(page.locator("[data-field-error=comment]")).to_contain_text("needs a comment")
    page.fill("#id_comment", "Reviewed with the DBAs.")
    page.click("#decide button[value=approve]")

    expect(page.locator("#approval-status [data-status=approved]")).to_be_visible()
    expect(page.locator("#decision-comment")).to_have_text("Reviewed with the DBAs.")
    expect(page.locator("#nav-approvals .badge")).to_have_count(0)
    expect(page.locator("#approval-run a")).to_have_count(0)  # beta cannot open alpha's run

    # The requester watches the approved request run.
    page.click("nav button:text-is('Log out')")
    page.goto(f"{live_server.url}/login/?next=/services/{waiting['id']}/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")
    expect(page.locator("#service-status [data-status=active]")).to_be_visible(timeout=90_000)
    page.click("#runs a")
    expect(page.locator("#approval")).to_contain_text("Approved by outsider")

    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []
