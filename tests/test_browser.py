"""A person in Debian's chromium: log in, pick a template, request it, watch the log grow,
see the service become active with its outputs. Every request stays on this server."""

import os
import shutil

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.worker]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Chromium reports what the Content-Security-Policy refuses on the console ("Refused to
# execute inline script ..."); this listener also reports it, with the directive, as an event.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => console.error(
  `csp-violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`
));
"""


def is_csp_violation(text: str) -> bool:
    return "Content Security Policy" in text or text.startswith("csp-violation:")


@pytest.fixture
def browser_page(live_server, settings, csp_violations):
    from playwright.sync_api import sync_playwright

    # The live server serves static files from the finders, by their unhashed names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # in between are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(30_000)
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.add_init_script(REPORT_CSP_VIOLATIONS)
        page.on(
            "console",
            lambda message: is_csp_violation(message.text) and csp_violations.append(message.text),
        )
        page.on("pageerror", lambda error: csp_violations.append(f"page error: {error}"))
        yield page, requested
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    assert csp_violations == [], "the Content-Security-Policy refused something"


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
    page.click('a:text-is("Slow")')

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

    # When the run ends the page reloads with the final status and the outputs.
    expect(page.locator("#service-status [data-status=active]")).to_be_visible(timeout=90_000)
    expect(page.locator("[data-output=steps_done]")).to_have_text("6")
    page.click("#runs a")
    expect(page.locator("#run-status [data-status=succeeded]")).to_be_visible()
    expect(page.locator("#run-log")).to_contain_text("PLAY RECAP")
    assert page.locator("#run-log span[class*=ansi3]").count() > 0  # ANSI colours

    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []
