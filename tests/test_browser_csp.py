"""The Content-Security-Policy in Debian's chromium: a platform engineer who is also a
superuser walks the portal's main pages, the API's Swagger page and Django's admin, posts a
note with an error and one without, and the policy refuses nothing (no inline script, style
attribute or eval is left), while the pages still work."""

import pytest
from django.utils import timezone

from factories import make_service
from provisioning.models import RunEvent

pytestmark = [pytest.mark.browser]

POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
)


@pytest.fixture
def coloured_service(transactional_db, catalog, teams, ops):
    ops.is_staff = ops.is_superuser = True
    ops.save()
    teams["alpha"].members.add(ops)
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="tinted", user=ops)
    RunEvent.objects.create(
        run=service.last_run,
        counter=1,
        event="runner_on_ok",
        created_at=timezone.now(),
        stdout="\x1b[0;32mok: [localhost]\x1b[0m",
    )
    return service


def test_the_policy_is_sent_on_every_page(client, ops):
    client.force_login(ops)
    for url in ("/login/", "/", "/api/teams/", "/admin/"):
        header = client.get(url)["Content-Security-Policy"]
        assert set(POLICY) <= {part.strip() for part in header.split(";")}, url


def test_the_main_pages_work_and_the_policy_refuses_nothing(
    coloured_service,
    live_server,
    browser_page,
    csp_violations,
):
    from playwright.sync_api import expect

    page, _ = browser_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw-ops")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Home")

    for path, heading in [
        ("/catalog/", "Catalogue"),
        ("/services/", "Services"),
        ("/teams/", "Teams"),
        ("/approvals/", "Approvals"),
        ("/tokens/", "API tokens"),
        ("/password/", "Change your password"),
        ("/credentials/", "Credentials"),
        ("/inventories/", "Inventories"),
        ("/audit/", "Audit trail"),
        ("/dora/", "DORA metrics"),
    ]:
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("h1")).to_contain_text(heading)
        assert csp_violations == [], path

    page.goto(f"{live_server.url}/runs/{coloured_service.last_run_id}/")
    green = page.locator("#run-log span.ansi32")
    expect(green).to_have_text("ok: [localhost]")
    assert green.evaluate("e => getComputedStyle(e).color") == "rgb(0, 170, 0)"
    page.goto(f"{live_server.url}/services/{coloured_service.pk}/")
    # An empty note is refused in place (the script that swaps a 400 in is a static file).
    page.click("#note-form button[type=submit]")
    expect(page.locator('[data-field-error="body"]')).to_be_visible()
    page.fill("#id_body", "Checked by **ops**.")
    page.click("#note-form button[type=submit]")
    expect(page.locator("#note-thread .note strong")).to_have_text("ops")

    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Gangplank API")
    page.goto(f"{live_server.url}/admin/auth/user/")
    expect(page.locator("#result_list")).to_contain_text("ops")
    assert csp_violations == []
