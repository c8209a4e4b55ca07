"""A run watched live in Debian's chromium, with the real worker: on the service page the run
waits for a worker and says so, its badge moves queued -> running -> succeeded in place with
its progress, the log follows its newest line until the reader scrolls up, and the end of the
run swaps in the service's status, outputs and actions without a reload: a note being typed
is still there."""

import re

import pytest

from conftest import request_via_api

pytestmark = [pytest.mark.browser, pytest.mark.worker]

STEPS = 8


@pytest.fixture
def held(worker, catalog, api, own_queue) -> dict:
    """A slow service whose provision waits in a queue no worker reads (the test's own), so
    that the page sees it queued; the test then sends it to the worker. Made before the
    browser starts (see test_browser_day2's fixture)."""
    from provisioning.models import Run

    created = request_via_api(api, "slow", "followed", {"steps": STEPS})
    return {"service": created["id"], "run": Run.objects.get(service_id=created["id"]).pk}


def test_a_run_shows_live_in_place_and_a_draft_note_survives_its_end(
    held, worker, live_server, browser_page
):
    from playwright.sync_api import expect

    from core import dispatch
    from provisioning.queueing import EXECUTE_RUN
    from testkit import use_queue

    page, requested = browser_page
    page.set_viewport_size({"width": 1280, "height": 640})
    loads, errors = [], []
    page.on("load", lambda: loads.append(page.url))
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.location["url"].endswith("/favicon.ico")  # (another change adds one)
            and errors.append(f"{message.text} {message.location['url']}")
        ),
    )
    page.goto(f"{live_server.url}/login/?next=/services/{held['service']}/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("followed")
    loaded = len(loads)

    # Queued: the badge says so, and the empty log box says what the run waits for.
    status = page.locator("#last-run #run-status")
    expect(status.locator("[data-status=queued]")).to_be_visible()
    expect(status.locator("[data-elapsed]")).to_contain_text("waiting for")
    waiting = page.locator("#run-log-waiting")
    expect(waiting).to_have_text("Waiting for a worker to pick the run up…")
    page.fill("#id_body", "A draft, half typed")

    use_queue(worker["queue"])  # (own_queue puts back the suite's queue after the test)
    dispatch.send(EXECUTE_RUN, held["run"])

    # Running: the badge moves in place, with the spinner, the time and the current task.
    expect(status.locator("[data-status=running]")).to_be_visible()
    expect(status.locator("[data-spinner]")).to_be_attached()
    expect(status.locator("[data-elapsed]")).to_contain_text("running for")
    expect(status.locator("[data-current-task]")).to_have_text(
        re.compile("Announce the step|Wait one second")
    )
    timeline_run = page.locator(f"#runs [data-run='{held['run']}']")
    expect(timeline_run.locator("[data-status=running]")).to_be_visible()

    # The log follows its newest line while the reader is at the bottom...
    box, lines = page.locator("#run-log"), page.locator("#run-log .log-line")
    jump = page.locator("#last-run [data-log-jump]")
    expect(waiting).to_be_hidden()
    expect(lines.nth(24)).to_be_attached()  # more than the box shows
    box.scroll_into_view_if_needed()
    expect(lines.last).to_be_in_viewport()
    expect(jump).to_be_hidden()

    # ...and stops when they scroll up; "Jump to latest" takes them back and follows again.
    box.hover()
    page.mouse.wheel(0, -300)
    expect(jump).to_be_visible()
    seen = lines.count()
    expect(lines.nth(seen)).to_be_attached()  # a new line came in meanwhile
    expect(lines.last).not_to_be_in_viewport()
    jump.click()
    expect(lines.last).to_be_in_viewport()
    expect(jump).to_be_hidden()
    seen = lines.count()
    expect(lines.nth(seen)).to_be_attached()
    expect(lines.last).to_be_in_viewport()

    # The end: the parts that changed are swapped in, the draft note is still there.
    expect(status.locator("[data-status=succeeded]")).to_be_visible(timeout=90_000)
    expect(status.locator("[data-spinner]")).to_have_count(0)
    expect(status.locator("[data-elapsed]")).to_contain_text("took")
    expect(status.locator("[data-tasks]")).to_contain_text(re.compile(r"^· \d+ tasks$"))
    expect(page.locator("#service-status [data-status=active]")).to_be_visible()
    expect(page.locator("[data-output=steps_done]")).to_have_text(str(STEPS))
    expect(page.locator("#actions a[data-action=update]")).to_be_visible()
    expect(page.locator("#in-progress-note")).to_have_count(0)
    expect(timeline_run.locator("[data-status=succeeded]")).to_be_visible()
    expect(box).to_contain_text("PLAY RECAP")
    expect(page.locator("#id_body")).to_have_value("A draft, half typed")
    assert loads[loaded:] == [], "the page reloaded"
    assert errors == []  # htmx reports a part it could not swap

    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert outside == []
