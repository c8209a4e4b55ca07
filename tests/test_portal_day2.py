"""The portal's day-2 pages: update, preview, upgrade, deprovision, extend, cancel, retry and
the service's timeline, for a signed-in member. Nothing runs: in these tests the transaction
never commits, so no run is sent to a worker."""

import re
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from querycounts import budget

from catalog.models import Template, TemplateVersion
from factories import make_service
from provisioning import services
from provisioning.models import Run, Service, ServiceEvent

pytestmark = pytest.mark.django_db

DB_INPUTS = {"db_name": "orders_db", "size": "small", "connection_limit": 20, "description": ""}


@pytest.fixture
def signed_in_user(member):
    return member


@pytest.fixture
def echo(catalog, teams, owner) -> Service:
    return make_service(template=catalog["echo"], team=teams["alpha"], name="talker", user=owner)


@pytest.fixture
def database(catalog, teams, owner) -> Service:
    """An active postgres-database service, whose db_name is readOnly."""
    service = make_service(
        template=catalog["postgres-database"], team=teams["alpha"], name="orders", user=owner
    )
    Service.objects.filter(pk=service.pk).update(inputs=DB_INPUTS)
    Run.objects.filter(pk=service.last_run_id).update(inputs=DB_INPUTS)
    return reload(service)


def reload(service: Service) -> Service:
    return Service.objects.select_related("last_run").get(pk=service.pk)


def new_version(template: Template, version: str, properties: dict, **manifest) -> TemplateVersion:
    """A newer version of `template`, made current (as a sync of a bumped folder would)."""
    current = template.current_version
    schema = {"type": "object", "properties": properties, **manifest.pop("schema", {})}
    made = TemplateVersion.objects.create(
        template=template,
        version=version,
        digest=f"digest-{version}",
        files=current.files,
        manifest={**current.manifest, "version": version, "inputs": schema, **manifest},
    )
    Template.objects.filter(pk=template.pk).update(current_version=made)
    return made


def tag(html: str, name: str) -> str:
    """The HTML tag of the form field named `name` (input, select or textarea)."""
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    assert match, f"no field {name}"
    return match.group(0)


def field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-field-error="([^"]+)">([^<]*)<', html))


def runs_of(service: Service) -> list[tuple[str, str]]:
    return list(service.runs.order_by("pk").values_list("action", "status"))


# --- every page: a member sees it, an outsider gets a 404 ------------------------------------


def day2_pages(service: Service) -> list[str]:
    run = service.last_run_id
    return [
        f"/services/{service.pk}/",
        f"/services/{service.pk}/update/",
        f"/services/{service.pk}/upgrade/",
        f"/services/{service.pk}/deprovision/",
        f"/services/{service.pk}/extend/",
        f"/runs/{run}/",
    ]


def test_it_renders_every_page_for_a_member(signed_in, echo, catalog):
    new_version(catalog["echo"], "1.1.0", {"message": {"type": "string"}})

    assert [signed_in.get(path).status_code for path in day2_pages(echo)] == [200] * 6


def test_it_is_a_404_for_an_outsider_to_see_or_act(client, outsider, echo, catalog):
    new_version(catalog["echo"], "1.1.0", {"message": {"type": "string"}})
    client.force_login(outsider)
    run = echo.last_run_id
    posts = [
        (f"/services/{echo.pk}/update/", {"action": "apply", "inputs-message": "x"}),
        (f"/services/{echo.pk}/upgrade/", {"action": "apply"}),
        (f"/services/{echo.pk}/deprovision/", {"confirm": "talker"}),
        (f"/services/{echo.pk}/extend/", {"expires_at": "2030-01-01T00:00"}),
        (f"/runs/{run}/cancel/", {}),
        (f"/runs/{run}/retry/", {}),
    ]

    assert [client.get(path).status_code for path in day2_pages(echo)] == [404] * 6
    assert [client.post(path, data).status_code for path, data in posts] == [404] * 6
    assert runs_of(echo) == [("provision", "succeeded")]


def test_it_sends_anonymous_callers_to_log_in_and_takes_actions_only_by_post(client, echo):
    for path in [f"/services/{echo.pk}/update/", f"/runs/{echo.last_run_id}/retry/"]:
        response = client.post(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")

    client.force_login(echo.created_by)
    assert client.get(f"/runs/{echo.last_run_id}/cancel/").status_code == 405
    assert client.get(f"/runs/{echo.last_run_id}/retry/").status_code == 405


def test_it_refuses_a_post_without_its_csrf_token(owner, echo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(f"/services/{echo.pk}/update/", {"action": "apply"})

    assert response.status_code == 403
    assert runs_of(echo) == [("provision", "succeeded")]


# --- the service page ---------------------------------------------------------------------


def test_it_offers_the_actions_an_active_service_has(signed_in, echo):
    html = signed_in.get(f"/services/{echo.pk}/").content.decode()

    assert f'href="/services/{echo.pk}/update/" data-action="update"' in html
    assert f'href="/services/{echo.pk}/deprovision/" data-action="deprovision">Deprovision' in html
    for absent in ('data-action="upgrade"', 'data-action="retry"', 'data-action="cancel"'):
        assert absent not in html
    assert 'data-action="extend"' not in html  # the echo template's services do not expire
    assert "A run is in progress" not in html


def test_it_disables_the_buttons_while_a_run_is_in_progress(signed_in, echo, owner):
    run = services.update_service(user=owner, service=echo, inputs={"message": "new"})

    html = signed_in.get(f"/services/{echo.pk}/").content.decode()

    assert 'type="button" disabled data-action="update"' in html
    assert 'type="button" disabled data-action="deprovision"' in html
    assert f'action="/runs/{run.pk}/cancel/"' in html
    assert "A run is in progress" in html
    assert f'/runs/{run.pk}/log/?after=0"' in html  # the live log of the run in progress


def test_it_offers_the_upgrade_with_both_versions(signed_in, echo, catalog):
    new_version(catalog["echo"], "1.1.0", {"message": {"type": "string"}})

    html = signed_in.get(f"/services/{echo.pk}/").content.decode()

    assert "Upgrade available 1.0.0 → 1.1.0" in html
    assert f'href="/services/{echo.pk}/upgrade/" data-action="upgrade"' in html


def test_it_offers_retry_and_clean_up_after_a_failed_provision(signed_in, catalog, teams, owner):
    service = make_service(
        template=catalog["failing"], team=teams["alpha"], name="broken", user=owner, status="failed"
    )
    Service.objects.filter(pk=service.pk).update(failed_action="provision")

    html = signed_in.get(f"/services/{service.pk}/").content.decode()

    assert "failed during provision" in html
    assert 'data-action="deprovision">Clean up' in html
    assert f'action="/runs/{service.last_run_id}/retry/"' in html
    assert 'data-action="update"' not in html
    page = signed_in.get(f"/services/{service.pk}/deprovision/").content.decode()
    assert "Clean up broken" in page


def test_it_says_which_action_failed(signed_in, echo):
    Service.objects.filter(pk=echo.pk).update(status="failed", failed_action="update")

    html = signed_in.get(f"/services/{echo.pk}/").content.decode()

    assert "failed during update" in html and 'data-action="update"' in html


def test_it_shows_the_expiry_and_warns_within_a_day(signed_in, echo):
    from core.templatetags.gangplank import roughly

    assert roughly(timedelta(days=6, hours=23, minutes=59)) == "7 days"
    assert [roughly(timedelta(hours=1)), roughly(timedelta(seconds=20))] == ["1 hour", "1 minute"]

    Service.objects.filter(pk=echo.pk).update(
        expires_at=timezone.now() + timedelta(days=3, minutes=5)
    )
    html = signed_in.get(f"/services/{echo.pk}/").content.decode()
    assert 'data-expiry="later"' in html and "expires in 3 days" in html
    assert f'action="/services/{echo.pk}/extend/"' in html

    Service.objects.filter(pk=echo.pk).update(expires_at=timezone.now() + timedelta(hours=5))
    html = signed_in.get(f"/services/{echo.pk}/").content.decode()
    assert "text-bg-warning expiry" in html and 'data-expiry="soon"' in html
    assert "expires in 5 hours" in html

    Service.objects.filter(pk=echo.pk).update(expires_at=timezone.now() - timedelta(minutes=90))
    html = signed_in.get(f"/services/{echo.pk}/").content.decode()
    assert "text-bg-danger expiry" in html and "expired 2 hours ago" in html


def test_it_shows_what_drifted(signed_in, echo):
    drift = [{"task": "Write the file", "host": "localhost", "diff": "-old line\n+<b>new</b>"}]
    Service.objects.filter(pk=echo.pk).update(drifted=True, drift=drift)

    html = signed_in.get(f"/services/{echo.pk}/").content.decode()

    assert 'id="drift"' in html and "Write the file" in html
    assert '<span class="diff-del">-old line</span>' in html
    assert '<span class="diff-add">+&lt;b&gt;new&lt;/b&gt;</span>' in html


# --- update: pre-filled, read-only inputs, preview and apply ---------------------------------


def test_it_prefills_the_update_form_and_disables_read_only_inputs(signed_in, database):
    html = signed_in.get(f"/services/{database.pk}/update/").content.decode()

    db_name = tag(html, "inputs-db_name")
    assert 'value="orders_db"' in db_name and "disabled" in db_name
    size = html[html.index('name="inputs-size"') : html.index("</select>")]
    assert '<option value="small" selected>' in size
    assert 'value="20"' in tag(html, "inputs-connection_limit")
    assert "disabled" not in tag(html, "inputs-connection_limit")
    assert 'value="preview"' in html and 'value="apply"' in html


def test_it_keeps_a_read_only_input_whatever_is_posted(signed_in, database):
    data = {"action": "apply", "inputs-db_name": "other_db", "inputs-size": "medium"}
    data |= {"inputs-connection_limit": "20"}

    response = signed_in.post(f"/services/{database.pk}/update/", data)

    assert response.status_code == 302
    run = reload(database).last_run
    assert run.action == "update"
    assert run.inputs == {**DB_INPUTS, "size": "medium"}


def test_it_prefills_and_locks_read_only_inputs_of_a_schema_of_its_own(
    signed_in, catalog, teams, owner
):
    template = catalog["echo"]
    version = new_version(
        template,
        "1.0.1",
        {"message": {"type": "string"}, "region": {"type": "string", "readOnly": True}},
    )
    service = make_service(template=template, team=teams["alpha"], name="pinned", user=owner)
    Service.objects.filter(pk=service.pk).update(
        template_version=version, inputs={"message": "hi", "region": "eu"}
    )

    html = signed_in.get(f"/services/{service.pk}/update/").content.decode()

    assert "disabled" in tag(html, "inputs-region") and 'value="eu"' in tag(html, "inputs-region")
    assert "disabled" not in tag(html, "inputs-message")


def test_it_shows_invalid_inputs_as_field_errors_and_creates_no_run(signed_in, database):
    data = {"action": "apply", "inputs-size": "small", "inputs-connection_limit": "9999"}

    response = signed_in.post(f"/services/{database.pk}/update/", data)

    assert response.status_code == 400
    errors = field_errors(response.content.decode())
    assert "500" in errors["inputs-connection_limit"]
    assert 'value="9999"' in tag(response.content.decode(), "inputs-connection_limit")
    assert runs_of(database) == [("provision", "succeeded")]
    assert reload(database).status == "active"

    response = signed_in.post(
        f"/services/{database.pk}/update/", {"action": "preview", "inputs-size": "huge"}
    )
    assert response.status_code == 400 and "inputs-size" in field_errors(response.content.decode())
    assert runs_of(database) == [("provision", "succeeded")]


def test_it_applies_an_update_as_a_queued_run(signed_in, echo):
    response = signed_in.post(
        f"/services/{echo.pk}/update/",
        {"action": "apply", "inputs-message": "goodbye"},
        follow=True,
    )

    assert response.redirect_chain == [(f"/services/{echo.pk}/", 302)]
    assert "Update queued" in response.content.decode()
    service = reload(echo)
    assert service.status == "updating"
    assert (service.last_run.action, service.last_run.status) == ("update", "queued")
    assert service.last_run.inputs == {"message": "goodbye"}
    assert service.inputs == {"message": "talker"}  # until the update succeeds


def test_it_previews_a_change_and_leaves_the_status(signed_in, echo):
    response = signed_in.post(
        f"/services/{echo.pk}/update/", {"action": "preview", "inputs-message": "maybe"}
    )

    service = reload(echo)
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{service.last_run_id}/"
    assert (service.last_run.action, service.last_run.status) == ("preview", "queued")
    assert service.status == "active"
    html = signed_in.get(response["Location"]).content.decode()
    assert "What would change" in html and "check mode" in html


def test_it_refuses_a_second_action_while_a_run_is_in_progress(signed_in, echo):
    update = f"/services/{echo.pk}/update/"
    signed_in.post(update, {"action": "apply", "inputs-message": "one"})

    again = signed_in.post(update, {"action": "apply", "inputs-message": "two"})
    gone = signed_in.post(f"/services/{echo.pk}/deprovision/", {"confirm": "talker"})

    assert again.status_code == 409
    assert "talker is updating: it cannot update now." in again.content.decode()
    assert "alert-danger" in again.content.decode()
    assert gone.status_code == 409 and "cannot deprovision now" in gone.content.decode()
    assert runs_of(echo) == [("provision", "succeeded"), ("update", "queued")]


def test_it_refuses_a_preview_while_another_is_queued(signed_in, echo):
    update = f"/services/{echo.pk}/update/"
    signed_in.post(update, {"action": "preview", "inputs-message": "one"})

    again = signed_in.post(update, {"action": "preview", "inputs-message": "two"})

    assert again.status_code == 409
    assert "already queued or running" in again.content.decode()
    assert runs_of(echo) == [("provision", "succeeded"), ("preview", "queued")]
    assert 'name="action" value="preview" disabled' in again.content.decode()


# --- upgrade ------------------------------------------------------------------------------


def test_it_upgrades_with_the_new_schema_carrying_inputs_over(signed_in, echo, catalog):
    target = new_version(
        catalog["echo"],
        "2.0.0",
        {
            "message": {"type": "string"},
            "colour": {"type": "string", "enum": ["red", "blue"], "default": "blue"},
        },
        schema={"required": ["message", "colour"]},
    )
    page = signed_in.get(f"/services/{echo.pk}/upgrade/").content.decode()
    assert "1.0.0 → 2.0.0" in page
    assert 'value="talker"' in tag(page, "inputs-message")
    assert '<option value="blue" selected>' in page

    preview = signed_in.post(f"/services/{echo.pk}/upgrade/", {"action": "preview"} | form(page))
    run = reload(echo).last_run
    assert preview["Location"] == f"/runs/{run.pk}/"
    assert (run.action, run.template_version_id) == ("preview", target.pk)
    Run.objects.filter(pk=run.pk).update(status="succeeded")

    applied = signed_in.post(f"/services/{echo.pk}/upgrade/", {"action": "apply"} | form(page))
    service = reload(echo)
    assert applied["Location"] == f"/services/{echo.pk}/"
    assert (service.last_run.action, service.last_run.template_version_id) == ("upgrade", target.pk)
    assert service.last_run.inputs == {"message": "talker", "colour": "blue"}
    assert service.status == "updating"


def form(html: str) -> dict:
    """The values the form of `html` would post for its inputs, as rendered."""
    values = dict(re.findall(r'name="(inputs-[^"]+)"[^>]*value="([^"]*)"', html))
    for name, body in re.findall(r'<select name="(inputs-[^"]+)"[^>]*>(.*?)</select>', html, re.S):
        selected = re.search(r'<option value="([^"]*)" selected>', body)
        values[name] = selected.group(1) if selected else ""
    return values


def test_it_sends_the_upgrade_page_back_when_there_is_nothing_newer(signed_in, echo):
    response = signed_in.get(f"/services/{echo.pk}/upgrade/", follow=True)

    assert response.redirect_chain == [(f"/services/{echo.pk}/", 302)]
    assert "on the newest version" in response.content.decode()


# --- deprovision and extend ---------------------------------------------------------------


def test_it_deprovisions_only_with_the_services_name(signed_in, echo):
    page = f"/services/{echo.pk}/deprovision/"

    wrong = signed_in.post(page, {"confirm": "talkerr"})
    assert wrong.status_code == 400
    assert field_errors(wrong.content.decode()) == {
        "confirm": "Type the service&#x27;s name, talker, to confirm."
    }
    assert signed_in.post(page, {}).status_code == 400
    assert runs_of(echo) == [("provision", "succeeded")]

    right = signed_in.post(page, {"confirm": "talker"}, follow=True)
    assert right.redirect_chain == [(f"/services/{echo.pk}/", 302)]
    assert "Deprovision queued" in right.content.decode()
    assert reload(echo).status == "deprovisioning"
    assert runs_of(echo)[-1] == ("deprovision", "queued")


@pytest.fixture
def expiring(catalog, teams, owner) -> Service:
    """A service of the drifty template: 7 days by default, at most 30 from its creation."""
    service = make_service(
        template=catalog["drifty"], team=teams["alpha"], name="brief", user=owner
    )
    Service.objects.filter(pk=service.pk).update(expires_at=timezone.now() + timedelta(days=7))
    return reload(service)


def local(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def test_it_extends_the_expiry_read_as_utc(signed_in, expiring):
    wanted = (timezone.now() + timedelta(days=20)).replace(second=0, microsecond=0)

    response = signed_in.post(
        f"/services/{expiring.pk}/extend/", {"expires_at": local(wanted)}, follow=True
    )

    assert response.redirect_chain == [(f"/services/{expiring.pk}/", 302)]
    assert f"now expires on {wanted:%Y-%m-%d %H:%M} UTC" in response.content.decode()
    assert reload(expiring).expires_at == wanted
    event = ServiceEvent.objects.get(service=expiring, kind="extended")
    assert event.actor.username == "member"
    assert "Expiry extended" in response.content.decode()  # on the timeline


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("yesterday", "Enter a valid date/time."),
        ("past", "Must be in the future."),
        ("too-late", "Must be at most"),
        ("", "This field is required."),
    ],
)
def test_it_shows_why_an_expiry_is_refused(signed_in, expiring, value, error):
    now = timezone.now()
    value = {
        "past": local(now - timedelta(hours=1)),
        "too-late": local(now + timedelta(days=40)),
    }.get(value, value)
    before = expiring.expires_at

    response = signed_in.post(f"/services/{expiring.pk}/extend/", {"expires_at": value})

    assert response.status_code == 400
    assert error in field_errors(response.content.decode())["expires_at"]
    assert reload(expiring).expires_at == before


def test_it_says_a_service_without_expiry_does_not_expire(signed_in, echo):
    future = local(timezone.now() + timedelta(days=1))
    response = signed_in.post(f"/services/{echo.pk}/extend/", {"expires_at": future})

    assert response.status_code == 400
    assert "does not expire" in field_errors(response.content.decode())["expires_at"]


# --- the run page: cancel, retry, changes -------------------------------------------------


def test_it_cancels_a_queued_run_and_returns_the_service(signed_in, echo, owner):
    run = services.update_service(user=owner, service=echo, inputs={"message": "new"})
    assert 'data-action="cancel"' in signed_in.get(f"/runs/{run.pk}/").content.decode()

    response = signed_in.post(
        f"/runs/{run.pk}/cancel/", {"next": f"/services/{echo.pk}/"}, follow=True
    )

    assert response.redirect_chain == [(f"/services/{echo.pk}/", 302)]
    assert "canceled before it started" in response.content.decode()
    run.refresh_from_db()
    assert run.status == "canceled" and run.canceled_by.username == "member"
    assert reload(echo).status == "active"

    again = signed_in.post(f"/runs/{run.pk}/cancel/", {"next": "https://elsewhere.example/"})
    assert again["Location"] == f"/runs/{run.pk}/"  # not off the site
    assert "has already ended" in signed_in.get(again["Location"]).content.decode()


def test_it_retries_the_last_failed_run(signed_in, echo, owner):
    failed = Run.objects.create(
        service=echo,
        action="update",
        status="failed",
        template_version=echo.template_version,
        inputs={"message": "again"},
        created_by=owner,
        error="Update failed on purpose",
    )
    Service.objects.filter(pk=echo.pk).update(
        status="failed", failed_action="update", last_run=failed
    )
    page = signed_in.get(f"/runs/{failed.pk}/").content.decode()
    assert f'action="/runs/{failed.pk}/retry/"' in page
    assert 'data-action="cancel"' not in page

    response = signed_in.post(f"/runs/{failed.pk}/retry/", follow=True)

    retry = reload(echo).last_run
    assert response.redirect_chain == [(f"/runs/{retry.pk}/", 302)]
    assert (retry.action, retry.status, retry.retry_of_id) == ("update", "queued", failed.pk)
    assert retry.inputs == {"message": "again"}
    html = response.content.decode()
    assert "retry of" in html and f'href="/runs/{failed.pk}/">#{failed.pk}</a>' in html
    assert reload(echo).status == "updating"
    # The old run is not the last any more: no retry button, and a posted retry is refused.
    assert 'data-action="retry"' not in signed_in.get(f"/runs/{failed.pk}/").content.decode()
    refused = signed_in.post(f"/runs/{failed.pk}/retry/", follow=True)
    assert "is not the service&#x27;s latest run" in refused.content.decode()


def test_it_shows_what_a_preview_would_change_coloured(signed_in, echo):
    preview = Run.objects.create(
        service=echo,
        action="preview",
        status="succeeded",
        template_version=echo.template_version,
        inputs={"message": "maybe"},
        changes=[
            {
                "task": "Write the message",
                "host": "localhost",
                "diff": "--- before\n+++ after\n@@ -1 +1 @@\n-talker\n+maybe",
            }
        ],
    )

    html = signed_in.get(f"/runs/{preview.pk}/").content.decode()

    assert "What would change" in html and "Write the message" in html and "localhost" in html
    assert '<pre class="diff mb-0"' in html
    assert '<span class="diff-del">-talker</span>' in html
    assert '<span class="diff-add">+maybe</span>' in html
    assert '<span class="diff-file">--- before</span>' in html

    Run.objects.filter(pk=preview.pk).update(changes=[])
    assert "Nothing would change." in signed_in.get(f"/runs/{preview.pk}/").content.decode()


def test_it_says_what_started_a_run_that_no_user_started(signed_in, echo):
    run = Run.objects.create(
        service=echo,
        action="deprovision",
        status="failed",
        trigger="expiry",
        template_version=echo.template_version,
        inputs=echo.inputs,
    )

    html = signed_in.get(f"/runs/{run.pk}/").content.decode()

    assert "started by the service&#x27;s expiry" in html
    timeline = signed_in.get(f"/services/{echo.pk}/").content.decode()
    assert "system (the service&#x27;s expiry)" in timeline


# --- the timeline ---------------------------------------------------------------------------


def test_it_shows_status_changes_and_changed_inputs_newest_first(signed_in, database, owner):
    services.update_service(
        user=owner, service=database, inputs={"size": "medium", "description": "orders"}
    )

    html = signed_in.get(f"/services/{database.pk}/").content.decode()
    timeline = html[html.index('id="runs"') :]

    items = re.findall(r'<li class="timeline-item[^"]*" data-kind="([a-z]+)"', timeline)
    assert items == ["status", "run", "run"]  # active → updating, the update, the provision
    status = timeline[: timeline.index('data-kind="run"')]
    assert 'data-status="active"' in status and 'data-status="updating"' in status
    assert ">owner<" in status
    assert re.search(r'data-changed="size"><code>size</code>: small → medium<', timeline)
    assert re.search(r'data-changed="description"><code>description</code>: "" → orders<', timeline)
    assert 'data-changed="db_name"' not in timeline


def test_it_compares_an_update_with_the_last_inputs_that_took(signed_in, echo, owner):
    def run(action, status, message):
        made = Run.objects.create(
            service=echo,
            action=action,
            status=status,
            template_version=echo.template_version,
            inputs={"message": message},
            created_by=owner,
        )
        Service.objects.filter(pk=echo.pk).update(last_run=made)
        return made

    run("update", "succeeded", "two")
    run("update", "failed", "three")
    latest = run("update", "succeeded", "four")

    html = signed_in.get(f"/services/{echo.pk}/").content.decode()

    changes = re.findall(r'data-changed="message"><code>message</code>: (\w+) → (\w+)<', html)
    # Newest first: four against two (three failed, so it never became the inputs).
    assert changes == [("two", "four"), ("two", "three"), ("talker", "two")]
    assert f'data-run="{latest.pk}"' in html


def test_the_service_page_costs_the_same_queries_with_5_and_30_entries(client, echo, owner, member):
    client.force_login(member)

    def add(count: int) -> None:
        for n in range(count):
            run = Run.objects.create(
                service=echo,
                action=["update", "preview", "drift_check"][n % 3],
                status="failed" if n % 4 == 0 else "succeeded",
                template_version=echo.template_version,
                inputs={"message": f"m{n}"},
                created_by=owner if n % 2 else None,
                trigger="user" if n % 2 else "schedule",
                retry_of=echo.last_run if n % 5 == 0 else None,
            )
            ServiceEvent.objects.create(
                service=echo,
                kind=["status", "extended", "drift"][n % 3],
                run=run,
                from_status="active",
                to_status="updating",
                actor=member if n % 2 else None,
                message=f"event {n}",
            )
        Service.objects.filter(pk=echo.pk).update(last_run=run)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/services/{echo.pk}/")
        assert response.status_code == 200
        return len(queries)

    add(5)
    with_5 = count()
    add(25)
    with_30 = count()

    assert with_5 == with_30 <= budget("/services/{pk}/")
    assert client.get(f"/services/{echo.pk}/").content.decode().count('data-kind="run"') == 31
