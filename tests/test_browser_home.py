"""The home page in Debian's chromium: a developer logs in, lands on the dashboard, sees
their team's failed service first, follows it and writes a Markdown note that shows
rendered, and harmless, without a reload. Every request stays on this server."""

import pytest

from factories import make_service
from provisioning.models import Service

pytestmark = [pytest.mark.browser]

HOSTILE_NOTE = (
    "**Root cause**: the disk filled up.\n\n"
    "- postmortem: [PM-42](https://wiki.example.com/pm/42)\n"
    "- [click me](javascript:window.clicked=1)\n\n"
    '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
)


@pytest.fixture
def services(transactional_db, catalog, teams, owner, outsider) -> dict:
    """Made (and committed) before the browser starts: see test_browser_day2's fixture."""

    def make(name, team="alpha", template="echo", status="active", **fields):
        made = make_service(template=catalog[template], team=teams[team], name=name, status=status)
        Service.objects.filter(pk=made.pk).update(**fields)
        return made

    return {
        "drifting": make("drifting", drifted=True),
        "steady": make("steady"),
        "broken": make("broken", template="failing", status="failed", failed_action="update"),
        "theirs": make("theirs", team="beta", status="failed"),
    }


def test_a_developer_lands_on_the_dashboard_and_notes_a_failed_service(
    services,
    live_server,
    browser_page,
):
    from playwright.sync_api import expect

    page, requested = browser_page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("Home")
    items = page.locator("#attention [data-attention]")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_have_attribute("data-attention", "failed")
    expect(items.nth(0).locator("a")).to_have_text("broken")
    expect(items.nth(0).locator(".why")).to_contain_text("failed during update")
    expect(items.nth(1)).to_have_attribute("data-attention", "drifted")
    expect(page.locator("#attention")).not_to_contain_text("theirs")

    items.nth(0).locator("a").click()
    expect(page.locator("h1")).to_have_text("broken")
    assert page.url == f"{live_server.url}/services/{services['broken'].pk}/"
    expect(page.locator("#no-notes")).to_be_visible()

    page.fill("#id_body", HOSTILE_NOTE)
    page.click("#note-form button[type=submit]")

    note = page.locator("#note-thread .note").first
    expect(note.locator("strong")).to_have_text("Root cause")
    expect(note.locator(".note-author")).to_have_text("owner")
    expect(note.locator("a[href='https://wiki.example.com/pm/42']")).to_have_attribute(
        "rel", "noopener noreferrer"
    )
    expect(note.locator("script, img")).to_have_count(0)
    assert note.locator("a:text-is('click me')").get_attribute("href") is None
    note.locator("a:text-is('click me')").click()
    expect(page.locator("#runs [data-kind=note]")).to_have_count(1)  # the timeline, swapped too
    expect(page.locator("#id_body")).to_have_value("")
    assert page.evaluate("[window.pwned, window.clicked]") == [None, None]
    assert dialogs == []
    # htmx swapped the section in: no redirect, so no "Note added." message.
    assert page.url == f"{live_server.url}/services/{services['broken'].pk}/"
    expect(page.locator(".alert-success")).to_have_count(0)

    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []
