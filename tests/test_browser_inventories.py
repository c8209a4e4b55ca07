"""Inventories in Debian's chromium: a platform engineer creates an inventory from the
navigation, adds a host (after a refused key), sees it listed, and deletes the inventory
after confirming. Every request stays on this server."""

import pytest
from test_inventories import public_key

from inventories.models import Host, Inventory

pytestmark = [pytest.mark.browser]


def test_a_platform_engineer_adds_an_inventory_and_a_host(
    transactional_db,
    ops,
    live_server,
    browser_page,
):
    from playwright.sync_api import expect

    page, requested = browser_page
    key = public_key()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw-ops")
    page.click("button[type=submit]")
    page.click("#nav-operations button")  # the Operations menu
    page.click("#nav-inventories")
    page.click("#new-inventory")
    page.fill("#id_name", "shared-hosts")
    page.fill("#id_description", "Hosts everyone shares.")
    page.click("#inventory-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("shared-hosts")

    page.click("#add-host")
    page.fill("#id_name", "web-1")
    page.fill("#id_address", "10.0.0.7")
    page.fill("#id_groups", "web, edge")
    page.fill("#id_host_key", "web-1 " + key)
    page.click("#host-form button[type=submit]")
    expect(page.locator('[data-field-error="host_key"]')).to_contain_text("drop the host name")
    page.fill("#id_host_key", key)
    page.click("#host-form button[type=submit]")

    row = page.locator('#hosts tr[data-host="web-1"]')
    expect(row).to_contain_text("10.0.0.7:22")
    expect(row).to_contain_text("edge")
    assert Host.objects.get(name="web-1").groups == ["web", "edge"]

    page.click("#delete-inventory")
    expect(page.locator("#confirm-delete")).to_contain_text("Its 1 host goes with it.")
    page.click("#confirm-delete button[type=submit]")
    expect(page.locator("#inventories")).to_contain_text("No inventories yet.")
    assert not Inventory.objects.exists()
    assert all(url.startswith(live_server.url) for url in requested)
