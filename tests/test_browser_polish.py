"""A platform engineer in Debian's chromium finds their way: the navigation fits one line at
1366 px, lights up the section of every page and folds into a menu on a phone; the DORA
window says the window of its figures; an output copies with one press."""

import pytest

from factories import make_service

pytestmark = [pytest.mark.browser]


def test_it_navigates_copies_and_shows_the_dora_window_it_computes(
    catalog, teams, ops, live_server, browser_page
):
    from playwright.sync_api import expect

    teams["alpha"].members.add(ops)
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="nav", user=ops)
    page, requested = browser_page
    page.set_viewport_size({"width": 1366, "height": 768})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw-ops")
    page.click("button[type=submit]")
    current = page.locator("#main-nav [aria-current=page]")

    # One line at 1366 px: every item of the bar centred on one line, the bar one item high.
    middles = page.eval_on_selector_all(
        "#nav > ul > li",
        "items => items.map(item => { const box = item.getBoundingClientRect();"
        " return box.top + box.height / 2; })",
    )
    assert len(middles) == 8 and max(middles) - min(middles) < 3, middles
    assert page.locator("#main-nav").bounding_box()["height"] < 70

    # Each page lights up its own section, and only it.
    page.click("#main-nav a:text-is('Teams')")
    expect(current).to_have_text("Teams")
    expect(page.locator("#main-nav a:text-is('Catalogue')")).not_to_have_class("nav-link active")
    page.goto(f"{live_server.url}/services/{service.pk}/")
    expect(current).to_have_text("Services")
    page.goto(f"{live_server.url}/runs/{service.last_run_id}/")
    expect(current).to_have_text("Services")
    page.goto(f"{live_server.url}/services/{service.pk}/deprovision/")
    expect(current).to_have_text("Services")
    page.click("#nav-operations button")
    page.click("#main-nav a:text-is('Audit')")
    operations = page.locator("#nav-operations > button")
    expect(operations).to_have_class("nav-link dropdown-toggle active")
    expect(current).to_have_count(1)
    expect(current).to_have_text("Audit")

    # An output copies with one press, and says so.
    page.goto(f"{live_server.url}/services/{service.pk}/")
    page.get_by_role("button", name="Copy Echo").click()
    expect(page.get_by_role("button", name="Copy Echo")).to_have_text("Copied")
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "nav"

    # DORA: the select shows the window of the figures, and Show keeps it.
    page.click("#main-nav a:text-is('DORA')")
    expect(page.locator("#id_days")).to_have_value("30")
    page.click("#dora-filter button[type=submit]")
    expect(page.locator("#id_days")).to_have_value("30")
    assert "days=30" in page.url

    # On a phone the bar folds into a menu, Operations opening inside it.
    page.set_viewport_size({"width": 390, "height": 800})
    expect(page.locator("#main-nav a:text-is('Services')")).to_be_hidden()
    page.click("#main-nav .navbar-toggler")
    expect(page.locator("#main-nav a:text-is('Services')")).to_be_visible()
    page.click("#nav-operations button")
    expect(page.locator("#main-nav a:text-is('Credentials')")).to_be_visible()
    assert [url for url in requested if not url.startswith(live_server.url)] == []
