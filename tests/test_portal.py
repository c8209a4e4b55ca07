"""The portal's pages, rendered for a signed-in member."""

import pytest
from django.utils import timezone

from catalog.models import Template
from factories import make_events, make_service
from provisioning.models import RunEvent

pytestmark = pytest.mark.django_db


def test_the_login_page_logs_in_and_out(client, owner):
    page = client.get("/login/")
    assert page.status_code == 200 and 'name="password"' in page.content.decode()

    response = client.post("/login/", {"username": "owner", "password": "pw-owner"})
    assert response.status_code == 302
    assert client.get("/catalog/").status_code == 200

    client.post("/logout/")
    assert client.get("/catalog/").status_code == 302


def test_a_wrong_password_is_refused(client, owner):
    response = client.post("/login/", {"username": "owner", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_the_catalogue_shows_cards_by_category(signed_in, catalog):
    html = signed_in.get("/catalog/").content.decode()

    assert 'data-category="databases"' in html and 'data-category="web"' in html
    assert "PostgreSQL database" in html and "/catalog/postgres-database/" in html


def test_the_catalogue_search_narrows_the_cards(signed_in, catalog):
    html = signed_in.get("/catalog/", {"q": "postgres"}).content.decode()

    assert "PostgreSQL database" in html
    assert "Static website" not in html
    assert "No template matches" in signed_in.get("/catalog/", {"q": "zzz"}).content.decode()


def test_retired_and_broken_templates_leave_the_catalogue(signed_in, catalog):
    Template.objects.filter(slug="static-site").update(retired_at=timezone.now())
    html = signed_in.get("/catalog/").content.decode()
    assert "Static website" not in html
    assert signed_in.get("/catalog/no-such-template/").status_code == 404


def test_ops_see_broken_templates_with_their_errors(client, ops, tmp_path):
    from catalog.services import sync_catalog

    folder = tmp_path / "wonky"
    folder.mkdir()
    (folder / "template.yml").write_text("name: Wonky\nversion: one\n")
    sync_catalog(directory=tmp_path)
    client.force_login(ops)

    html = client.get("/catalog/-/status/").content.decode()

    assert 'data-broken="wonky"' in html
    assert "wonky/template.yml" in html and "version" in html and "does not match" in html


def test_the_services_list_filters_by_team_template_and_status(signed_in, catalog, teams, owner):
    make_service(template=catalog["echo"], team=teams["alpha"], name="one", user=owner)
    make_service(
        template=catalog["failing"], team=teams["alpha"], name="two", user=owner, status="failed"
    )

    def names(**params):
        html = signed_in.get("/services/", params).content.decode()
        return {name for name in ("one", "two") if f">{name}</a>" in html}

    assert names() == {"one", "two"}
    assert names(status="failed") == {"two"}
    assert names(template="echo") == {"one"}
    assert names(team="alpha", status="active") == {"one"}
    assert names(q="tw") == {"two"}


def test_the_services_list_is_paginated(signed_in, catalog, teams, owner):
    for n in range(30):
        make_service(template=catalog["echo"], team=teams["alpha"], name=f"svc-{n:02}", user=owner)

    first = signed_in.get("/services/").content.decode()
    second = signed_in.get("/services/", {"page": 2}).content.decode()

    assert "Page 1 of 2" in first and first.count("data-service=") == 25
    assert second.count("data-service=") == 5


def test_the_service_page_shows_status_inputs_outputs_and_runs(signed_in, catalog, teams, owner):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="shown", user=owner)

    html = signed_in.get(f"/services/{service.pk}/").content.decode()

    assert 'data-status="active"' in html
    assert 'data-input="message"' in html and 'data-output="echo"' in html
    assert "Echo" in html  # the output's title from the manifest
    assert f"/runs/{service.last_run_id}/" in html
    assert "Alpha" in html and "1.0.0" in html


def test_the_run_log_renders_ansi_colours_and_escapes_html(signed_in, catalog, teams, owner):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="colour", user=owner)
    RunEvent.objects.create(
        run=service.last_run,
        counter=1,
        event="runner_on_ok",
        created_at=timezone.now(),
        stdout="\x1b[0;32mok: <script>alert(1)</script>\x1b[0m",
    )

    html = signed_in.get(f"/runs/{service.last_run_id}/").content.decode()

    assert '<span class="ansi32">ok: &lt;script&gt;alert(1)&lt;/script&gt;</span>' in html
    assert "<script>alert(1)" not in html


def test_the_log_of_a_running_run_keeps_polling(signed_in, catalog, teams, owner):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="live", user=owner)
    run = service.last_run
    run.status = "running"
    run.save()
    make_events(run, 3)

    page = signed_in.get(f"/runs/{run.pk}/").content.decode()
    assert f'/runs/{run.pk}/log/?after=3"' in page

    fragment = signed_in.get(f"/runs/{run.pk}/log/", {"after": 3}, HTTP_HX_REQUEST="true")
    assert fragment.content.decode().count("log-line") == 0
    assert "?after=3" in fragment.content.decode() and "HX-Refresh" not in fragment

    make_events(run, 2, start=4)
    fragment = signed_in.get(f"/runs/{run.pk}/log/", {"after": 3}).content.decode()
    assert 'data-counter="4"' in fragment and 'data-counter="5"' in fragment
    assert 'data-counter="3"' not in fragment and "?after=5" in fragment


def test_the_log_stops_polling_when_the_run_ends_and_reloads_nothing(
    signed_in, catalog, teams, owner
):
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="done", user=owner)
    make_events(service.last_run, 2)

    fragment = signed_in.get(f"/runs/{service.last_run_id}/log/", {"after": 2})

    assert "HX-Refresh" not in fragment  # the status fragment swaps what changed
    assert "log-poller" not in fragment.content.decode()
    assert "log-poller" not in signed_in.get(f"/runs/{service.last_run_id}/").content.decode()
    assert signed_in.get(f"/runs/{service.last_run_id}/log/", {"after": "x"}).status_code == 400


def test_static_assets_are_served_locally_by_whitenoise(signed_in, catalog):
    import re

    html = signed_in.get("/catalog/").content.decode()
    head = html.split("<body")[0]
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)

    assert any("/static/bootstrap/css/bootstrap" in url for url in assets)
    assert any("/static/django_htmx/htmx" in url for url in assets)
    assert "http://" not in head and "https://" not in head
    for url in assets:
        response = signed_in.get(url)
        assert response.status_code == 200, url
        b"".join(response.streaming_content)


def test_values_and_durations_read_as_people_write_them():
    from datetime import timedelta
    from types import SimpleNamespace

    from core.templatetags.gangplank import as_value, duration

    assert [as_value(v) for v in ("text", True, 3, 0.5, None)] == [
        "text",
        "true",
        "3",
        "0.5",
        "null",
    ]
    start = timezone.now()
    run = SimpleNamespace(started_at=start, finished_at=start + timedelta(seconds=4.25))
    assert duration(run) == "4.2 s"
    run.finished_at = start + timedelta(seconds=185)
    assert duration(run) == "3 min 5 s"
    run.finished_at = None
    assert duration(run) == ""


def test_a_user_without_a_team_is_told_how_to_get_one(client, django_user_model, catalog):
    client.force_login(django_user_model.objects.create_user("loner", password="pw-loner"))

    html = client.get("/catalog/echo/").content.decode()

    assert 'id="no-team"' in html
