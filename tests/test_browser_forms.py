"""The request form in Debian's chromium: no input's pattern reaches the page for the browser
to refuse (Chromium compiles HTML patterns with the `v` flag, which refuses `[A-Za-z0-9_-]`
and logs an error on every load), and a value the pattern refuses is told, in words, what is
expected."""

import pytest

pytestmark = [pytest.mark.browser]


@pytest.fixture
def requester(transactional_db, catalog, teams, owner):
    return owner


def test_the_request_page_logs_no_error_and_words_a_pattern_error(
    requester, live_server, browser_page
):
    from playwright.sync_api import expect

    page, _ = browser_page
    errors: list[str] = []

    def note(message) -> None:
        # What the page's code logs; not a resource's status (the refused form is a 400).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", note)
    page.goto(f"{live_server.url}/login/?next=/catalog/dev-workspace/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")

    branch = page.locator("#id_inputs-default_branch")
    expect(branch).to_have_value("main")
    # Chromium compiles a pattern when a form's validity is checked (htmx checks it before
    # a request, as may any script): a pattern it refuses is logged then.
    page.evaluate("[...document.forms].forEach((form) => form.checkValidity())")
    assert errors == []
    page.select_option("#id_team", "alpha")
    page.fill("#id_name", "scratch")
    branch.fill("-not/a/branch-")
    page.click("form.card button[type=submit]")

    error = page.locator('[data-field-error="inputs-default_branch"]')
    expect(error).to_contain_text("Not in the expected form: Name of the repository's initial")
    expect(error).not_to_contain_text("[A-Za-z0-9]")
    assert errors == []
