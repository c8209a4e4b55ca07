"""Deprovisioning a service others use, in Debian's chromium: its page names them, the
deprovision page offers the cascade, and ticking it queues theirs first. No worker: the runs
stay queued in a queue of the test's own."""

import pytest

from factories import make_service

pytestmark = [pytest.mark.browser]


@pytest.fixture
def used(transactional_db, own_queue, catalog, teams, owner) -> dict:
    """Made before the browser starts: a provider that a consumer uses."""
    from provisioning.models import Service, ServiceDependency

    db = make_service(template=catalog["provider"], team=teams["alpha"], name="orders-db")
    app = make_service(template=catalog["consumer"], team=teams["alpha"], name="app")
    Service.objects.filter(pk=app.pk).update(inputs={"database": str(db.pk), "label": "a"})
    ServiceDependency.objects.create(service=app, uses=db, input="database")
    return {"db": db, "app": app}


def test_the_deprovision_page_offers_the_cascade_and_it_goes_leaves_first(
    used, live_server, browser_page
):
    from playwright.sync_api import expect

    from provisioning.models import Run, Service

    page, _ = browser_page
    base, db, app = live_server.url, used["db"], used["app"]
    page.goto(f"{base}/login/?next=/services/{db.pk}/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    page.press("#id_password", "Enter")

    expect(page.locator("#used-by a")).to_have_text("alpha/app")
    page.locator("#actions a[data-action=deprovision]").click()  # no dialog: its own page
    expect(page).to_have_url(f"{base}/services/{db.pk}/deprovision/")
    expect(page.locator("#used-by-note")).to_contain_text("alpha/app")
    page.fill("#id_confirm", "orders-db")
    page.get_by_label("Deprovision the services that use it first, then it").check()
    page.get_by_role("button", name="Deprovision").click()

    expect(page).to_have_url(f"{base}/services/{db.pk}/")
    expect(page.locator("#deprovision-pending")).to_be_visible()
    expect(page.get_by_text("Cascade started: app's deprovision queued first")).to_be_visible()
    assert Run.objects.get(service=app, action="deprovision").status == "queued"
    assert not Run.objects.filter(service=db, action="deprovision").exists()
    assert Service.objects.get(pk=db.pk).deprovision_pending
