"""The catalogue in Debian's chromium: a developer sees several cards to a row, each with its
icon, version and Request button; types into the search box and the grid narrows as they
type (the address follows, so a reload keeps it); requests a template and, before filling
anything in, reads how long it lives and whether it waits for approval."""

import pytest

pytestmark = [pytest.mark.browser]


def test_a_developer_searches_the_catalogue_and_reads_what_a_template_asks(
    transactional_db,
    catalog,
    owner,
    live_server,
    browser_page,
):
    from playwright.sync_api import expect

    page, requested = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/login/?next=/catalog/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("Catalogue")
    cards = page.locator("#catalog-grid .template-card")
    expect(cards.first).to_be_visible()
    total = cards.count()
    assert total >= 8
    expect(page.locator("#catalog-count")).to_have_text(f"{total} templates.")
    # Several cards to a row, not one card per row.
    tops = [round(cards.nth(i).bounding_box()["y"]) for i in range(3)]
    assert len(set(tops)) == 1, tops
    database = page.locator(".template-card[data-template=postgres-database]")
    expect(database.locator(".template-version")).to_have_text("version v1.3.1")
    expect(database.locator(".template-icon svg")).to_have_attribute("aria-hidden", "true")
    expect(database.get_by_role("link", name="Request PostgreSQL database")).to_be_visible()

    # Live search: the grid narrows as they type, without a page load, and the address keeps
    # the search.
    page.evaluate("window.stayed = true")
    page.get_by_label("Search by name, description or category").fill("workspace")
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-template", "dev-workspace")
    expect(page.locator("#catalog-count")).to_have_text("1 template matches “workspace”.")
    expect(page).to_have_url(f"{live_server.url}/catalog/?q=workspace")
    assert page.evaluate("window.stayed") is True
    page.get_by_label("Search by name, description or category").fill("no such thing")
    expect(page.locator("#catalog-results")).to_contain_text("No template matches")

    # Enter submits the form as a plain GET, as it does without JavaScript.
    page.get_by_label("Search by name, description or category").fill("databases")
    page.get_by_label("Search by name, description or category").press("Enter")
    expect(page).to_have_url(f"{live_server.url}/catalog/?q=databases")
    expect(cards).to_have_count(1)
    cards.first.get_by_role("link", name="Request PostgreSQL database").click()

    expect(page.locator("h1")).to_have_text("PostgreSQL database")
    summary = page.locator("#template-summary")
    expect(summary.locator("#summary-lifetime")).to_contain_text("Does not expire")
    expect(summary.locator("#summary-approval")).to_contain_text(
        "Sometimes needed. Requests to provision or update wait for approval by platform "
        "engineers when Size is large"
    )
    expect(summary.locator("#template-credentials")).to_contain_text("shared-postgres")
    expect(page.locator("#request-note")).to_contain_text("may wait for approval")
    expect(page.locator("#template-changelog [data-changelog-version]").first).to_have_text(
        "1.3.1 current"
    )

    # Back to the catalogue, and the workspace's page says how long it lives.
    page.go_back()
    page.get_by_label("Search by name, description or category").fill("workspace")
    expect(cards).to_have_count(1)
    cards.first.get_by_role("link", name="Request Developer workspace").click()
    expect(page.locator("h1")).to_have_text("Developer workspace")
    expect(page.locator("#summary-lifetime")).to_contain_text("Expires 14 days after the request")
    expect(page.locator("#summary-lifetime")).to_contain_text("at most 90 days")
    expect(page.locator("#summary-approval")).to_have_text(
        "Not needed: a request is queued at once."
    )
    assert all(url.startswith(live_server.url) for url in requested)
