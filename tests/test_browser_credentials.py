"""A platform engineer keeps a credential in Debian's chromium: never shown again."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

pytestmark = [pytest.mark.browser]


def test_a_platform_engineer_creates_an_ssh_credential_and_sees_no_value(
    transactional_db,
    ops,
    live_server,
    browser_page,
):
    from playwright.sync_api import expect

    key = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
        .decode()
    )
    body = key.splitlines()[1]
    page, _ = browser_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw-ops")
    page.click("button[type=submit]")

    page.click("#nav-operations button")  # the Operations menu
    page.click("nav a:text-is('Credentials')")
    page.click("#new-credential")
    page.click("#credential-types [data-type=ssh]")
    page.fill("#id_name", "deploy-key")
    page.fill("#id_username", "deploy")
    page.fill("#id_private_key", "not a key")
    page.click("#credential-form button[type=submit]")
    expect(page.locator("[data-field-error=private_key]")).to_contain_text("Not a private key")

    page.fill("#id_private_key", key)
    page.click("#credential-form button[type=submit]")

    row = page.locator("#credentials tr[data-credential=deploy-key]")
    expect(row).to_contain_text("SSH key")
    expect(row).to_contain_text("no template")
    assert body not in page.content()
    row.locator("a:text-is('Edit')").click()
    expect(page.locator("#id_username")).to_have_value("deploy")
    expect(page.locator("#id_private_key")).to_have_value("")
    expect(page.locator("#credential-form")).to_contain_text("blank to keep")
    assert body not in page.content()
