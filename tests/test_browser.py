"""A person in Debian's chromium: log in, pick a template, request it, watch the log grow,
see the service become active with its outputs. Every request stays on this server."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_a_developer_requests_a_service_and_watches_it_run(
    worker, catalog, owner, live_server, browser_page
):
    from playwright.sync_api import expect

    page, requested = browser_page
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("Home")
    page.click('nav a:text-is("Catalogue")')
    expect(page.locator("h1")).to_have_text("Catalogue")
    page.fill("input[name=q]", "slow")
    page.click("form[role=search] button")
    page.click('[data-template=slow] a:has-text("Request")')

    page.select_option("#id_team", "alpha")
    page.fill("#id_name", "watched")
    page.fill("#id_inputs-steps", "6")
    page.click("form.card button[type=submit]")

    expect(page.locator("h1")).to_have_text("watched")
    expect(page.locator("#service-status [data-status=provisioning]")).to_be_visible()
    lines = page.locator("#run-log .log-line")
    expect(lines.first).to_be_visible()
    seen = lines.count()
    expect(lines.nth(seen)).to_be_attached(timeout=30_000)  # (no page-side eval under the CSP)
    assert page.locator("#service-status [data-status=provisioning]").count() == 1

    # When the run ends the final status and the outputs are swapped in.
    expect(page.locator("#service-status [data-status=active]")).to_be_visible(timeout=90_000)
    expect(page.locator("[data-output=steps_done]")).to_have_text("6")
    page.click("#runs a")
    expect(page.locator("#run-status [data-status=succeeded]")).to_be_visible()
    expect(page.locator("#run-log")).to_contain_text("PLAY RECAP")
    assert page.locator("#run-log span[class*=ansi3]").count() > 0  # ANSI colours

    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []
