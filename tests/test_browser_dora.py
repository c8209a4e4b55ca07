"""A person in Debian's chromium reads the DORA page: the figures of their team's runs, each
beside its definition, and the weekly charts drawn on the server; nothing from elsewhere."""

import pytest
from test_dora import frozen, history  # noqa: F401  (the fixtures)

pytestmark = [pytest.mark.browser]


def test_it_shows_a_teams_dora_charts_by_week(
    history,  # noqa: F811
    frozen,  # noqa: F811
    owner,
    live_server,
    browser_page,
):
    from playwright.sync_api import expect

    page, requested = browser_page
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")
    page.click("nav >> text=DORA")

    expect(page.locator("h1")).to_have_text("DORA metrics")
    page.select_option("#id_team", "alpha")
    page.select_option("#id_days", "30")
    page.click("#dora-filter button[type=submit]")

    # Alpha's 30 days: lead times 10 min, 30 min, 2 h, 3 days; 4 of 7 changes succeeded.
    figure = page.locator("[data-figure=lead_time]")
    expect(figure).to_have_text("median 1 h 15 min, 90th percentile 2 d 3 h")
    expect(page.locator("#lead_time .definition")).to_contain_text("approval wait is included")
    expect(page.locator("[data-figure=change_failure_rate]")).to_have_text(
        "42.9 % (3 of 7 changes)"
    )
    bars = page.locator("#chart-deployment_frequency rect.bar")
    expect(bars).to_have_count(5)  # the five weeks the window touches
    busy = page.locator('#chart-deployment_frequency rect[data-week="2026-03-09"]')
    assert float(busy.get_attribute("data-value")) == pytest.approx(2 / 7)
    assert float(busy.get_attribute("height")) > 0
    assert busy.locator("title").text_content() == (
        "deployments per day, week of Mar 9: 0.29/day (2)"
    )
    empty = page.locator('#chart-deployment_frequency rect[data-week="2026-03-02"]')
    assert float(empty.get_attribute("height")) == 0
    restore = page.locator('#chart-time_to_restore rect[data-week="2026-03-16"]')
    assert float(restore.get_attribute("data-value")) == 260940
    assert page.locator("#chart-lead_time").bounding_box()["height"] > 100  # drawn, visible

    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []
    assert "days=30" in page.url and "team=alpha" in page.url
