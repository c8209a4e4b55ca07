"""Inputs that depend on others, in Debian's chromium: ticking TLS reveals the host name,
required, without a reload; unticking hides it again and it is not sent; a certificate makes
its key's name required. What was typed into a password field and where the focus was
survive each re-render; the update page follows its values alike."""

import pytest

pytestmark = [pytest.mark.browser]


@pytest.fixture
def requester(transactional_db, own_queue, catalog, teams, owner):
    """The owner; the runs their requests queue stay in a queue of the test's own."""
    return owner


def test_the_request_form_shows_hides_and_requires_inputs_as_values_change(
    requester, live_server, browser_page
):
    from playwright.sync_api import expect

    page, _ = browser_page
    page.goto(f"{live_server.url}/login/?next=/catalog/conditional/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")

    tls = page.locator("#id_inputs-tls")
    hostname = page.locator("#id_inputs-hostname")
    hostname_row = page.locator('[data-input-field="hostname"]')
    expect(tls).to_be_visible()
    expect(hostname).to_be_hidden()
    page.select_option("#id_team", "alpha")
    page.fill("#id_name", "plain")
    page.fill("#id_inputs-label", "first")
    page.fill("#id_inputs-passphrase", "typed-secret")

    tls.check()
    expect(hostname).to_be_visible()
    expect(hostname).to_have_attribute("required", "")
    expect(hostname).to_be_enabled()
    expect(hostname_row.locator("label")).to_contain_text("*")
    expect(tls).to_be_focused()
    expect(page.locator("#id_inputs-passphrase")).to_have_value("typed-secret")
    hostname.fill("stale.example")

    tls.uncheck()
    expect(hostname).to_be_hidden()
    expect(hostname).to_be_disabled()
    expect(tls).to_be_focused()
    page.click("form.card button[type=submit]")

    expect(page.locator("h1")).to_have_text("plain")
    # The service page shows the inputs it got (no ORM here: Playwright's loop would open
    # a connection of its own).
    expect(page.locator("[data-input=tls]")).to_have_text("false")
    expect(page.locator("[data-input=label]")).to_have_text("first")
    expect(page.locator("[data-input=passphrase]")).to_be_visible()
    expect(page.locator("[data-input=hostname]")).to_have_count(0)

    page.goto(f"{live_server.url}/catalog/conditional/")
    page.select_option("#id_team", "alpha")
    page.fill("#id_name", "secure")
    page.fill("#id_inputs-label", "second")
    tls.check()
    expect(hostname).to_be_visible()
    hostname.fill("secure.example")
    key_name = page.locator("#id_inputs-key_name")
    expect(key_name).not_to_have_attribute("required", "")
    page.fill("#id_inputs-cert", "a certificate")
    key_name.click()  # the certificate's field changes when it is left
    expect(key_name).to_have_attribute("required", "")
    expect(key_name).to_be_focused()
    expect(page.locator("#id_inputs-cert")).to_have_value("a certificate")
    page.click("form.card button[type=submit]")

    error = page.locator('[data-field-error="inputs-key_name"]')
    expect(error).to_have_text("Required when Certificate is given.")
    expect(hostname).to_have_value("secure.example")
    key_name.fill("k1")
    page.click("form.card button[type=submit]")

    expect(page.locator("h1")).to_have_text("secure")
    for name, value in [("tls", "true"), ("hostname", "secure.example"), ("key_name", "k1")]:
        expect(page.locator(f"[data-input={name}]")).to_have_text(value)
    expect(page.locator("[data-input=cert]")).to_have_text("a certificate")


@pytest.fixture
def secure(requester, catalog, teams):
    """Made before the browser starts: a service with TLS and its host name."""
    from factories import make_service
    from provisioning.models import Service

    service = make_service(template=catalog["conditional"], team=teams["alpha"], name="svc")
    inputs = {"label": "x", "tls": True, "hostname": "h.example", "mode": "basic"}
    Service.objects.filter(pk=service.pk).update(inputs=inputs)
    return service


def test_the_update_form_follows_its_values_too(secure, live_server, browser_page):
    from playwright.sync_api import expect

    page, _ = browser_page
    page.goto(f"{live_server.url}/login/?next=/services/{secure.pk}/update/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")

    tls, hostname = page.locator("#id_inputs-tls"), page.locator("#id_inputs-hostname")
    expect(hostname).to_have_value("h.example")
    tls.uncheck()
    expect(hostname).to_be_hidden()
    expect(tls).to_be_focused()
    tls.check()
    expect(hostname).to_be_visible()
    expect(hostname).to_have_value("h.example")
    expect(page.locator("[data-field-error]")).to_have_count(0)
