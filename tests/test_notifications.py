"""Notifications: teams point apprise URLs at their chat and mail; the real worker delivers
after the commit, retries with backoff and records every delivery.

Receivers are real local servers: pytest-httpserver behind apprise's `json://`, and an
aiosmtpd SMTP server behind `mailto://`."""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from querycounts import budget

from conftest import NOTIFY_ATTEMPTS, api_client_for, request_via_api, wait_for, wait_for_run
from notifications.models import Delivery, Destination
from notifications.services import FAILED, add_destination
from provisioning.models import Run, Service

EVERYTHING = ["run_failed", "run_succeeded", "approval_requested", "approval_decided",
              "service_expiring", "service_expired", "drift_detected"]  # fmt: skip


def _hook(httpserver, path="/hook") -> str:
    httpserver.expect_request(path, method="POST").respond_with_data("ok")
    return f"json://{httpserver.host}:{httpserver.port}{path}"


def _received(httpserver, count: int) -> list[dict]:
    wait_for(lambda: len(httpserver.log) >= count, what=f"{count} message(s) at the receiver")
    return [json.loads(request.get_data()) for request, _ in httpserver.log]


def _delivered(count: int, **filters) -> list[Delivery]:
    def done():
        rows = list(Delivery.objects.filter(**filters).exclude(status="pending"))
        return rows if len(rows) >= count else None

    return wait_for(done, what="the deliveries to end")


@pytest.mark.worker
def test_it_tells_a_team_webhook_that_its_run_failed(
    worker, catalog, owner, ops, teams, httpserver
):
    from django.conf import settings

    add_destination(
        user=ops, team=teams["alpha"], name="chat", url=_hook(httpserver), events=["run_failed"]
    )
    api = api_client_for(owner)

    created = request_via_api(api, "failing", "broken", {"reason": "disk full"})
    assert wait_for_run(api, created["last_run"]["id"])["status"] == "failed"

    (message,) = _received(httpserver, 1)
    assert message["title"] == "[Gangplank] provision of alpha/broken failed"
    assert "Requested by owner." in message["message"]
    assert "disk full" in message["message"]
    assert f"{settings.GANGPLANK_BASE_URL}/runs/{created['last_run']['id']}/" in message["message"]
    (delivery,) = _delivered(1)
    assert (delivery.status, delivery.attempts, delivery.event) == ("sent", 1, "run_failed")


@pytest.mark.worker
def test_it_emails_a_success_through_a_real_smtp_server(worker, catalog, owner, ops, teams, smtp):
    url = f"mailto://127.0.0.1:{smtp['port']}?from=gangplank@example.com&to=alpha@example.com"
    add_destination(user=ops, team=teams["alpha"], name="mail", url=url, events=["run_succeeded"])
    api = api_client_for(owner)

    created = request_via_api(api, "echo", "mailed", {"message": "not in the mail"})
    assert wait_for_run(api, created["last_run"]["id"])["status"] == "succeeded"

    wait_for(lambda: smtp["messages"], what="the email")
    (mail,) = smtp["messages"]
    assert mail["to"] == ["alpha@example.com"]
    assert mail["subject"] == "[Gangplank] provision of alpha/mailed succeeded"
    assert "Requested by owner." in mail["body"]
    assert "not in the mail" not in mail["body"]  # inputs never go out
    assert _delivered(1)[0].status == "sent"


@pytest.mark.worker
def test_it_retries_a_failed_delivery_and_records_each_attempt(
    worker, catalog, owner, ops, teams, httpserver
):
    httpserver.expect_ordered_request("/flaky", method="POST").respond_with_data("no", 503)
    httpserver.expect_ordered_request("/flaky", method="POST").respond_with_data("ok")
    url = f"json://{httpserver.host}:{httpserver.port}/flaky"
    add_destination(user=ops, team=teams["alpha"], name="flaky", url=url, events=EVERYTHING)
    api = api_client_for(owner)

    created = request_via_api(api, "echo", "retried", {"message": "hi"})
    wait_for_run(api, created["last_run"]["id"])

    (delivery,) = _delivered(1)
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 2, "")
    assert len(httpserver.log) == 2


@pytest.mark.worker
def test_it_gives_up_after_the_last_attempt_and_says_why(worker, catalog, owner, ops, team_admin):
    destination = add_destination(
        user=ops,
        team=owner.memberships.get().team,
        name="gone",
        url="json://127.0.0.1:9/nobody",
        events=EVERYTHING,
    )
    api = api_client_for(team_admin)

    response = api.post(f"/api/teams/alpha/destinations/{destination.pk}/test/")

    assert response.status_code == 202
    (delivery,) = _delivered(1, destination=destination)
    assert (delivery.status, delivery.attempts) == ("failed", NOTIFY_ATTEMPTS)
    assert delivery.error == FAILED  # what failed goes to the server log only
    listed = api.get(f"/api/teams/alpha/destinations/{destination.pk}/deliveries/").json()
    assert [(d["status"], d["attempts"]) for d in listed["results"]] == [
        ("failed", NOTIFY_ATTEMPTS)
    ]


def _lost(destination, title: str, *, attempts: int = 0, age=timedelta(hours=1)) -> Delivery:
    """A delivery recorded as `notify` records one, whose task never reached a worker (or,
    with `attempts`, whose worker died mid-send after claiming an attempt)."""
    delivery = Delivery.objects.create(
        destination=destination, event="test", title=title, body=f"{title}: hello"
    )
    then = timezone.now() - age
    Delivery.objects.filter(pk=delivery.pk).update(
        created_at=then, attempts=attempts, last_attempt_at=then if attempts else None
    )
    return delivery


@pytest.mark.worker
def test_it_sends_again_the_deliveries_whose_task_was_lost(worker, ops, teams, httpserver):
    from notifications.services import resend_lost_deliveries
    from notifications.tasks import deliver

    destination = add_destination(
        user=ops, team=teams["alpha"], name="chat", url=_hook(httpserver), events=EVERYTHING
    )
    never_sent = _lost(destination, "never sent")
    half_sent = _lost(destination, "worker killed", attempts=1)
    young = _lost(destination, "on its way", age=timedelta(seconds=1))

    assert resend_lost_deliveries() == 2
    assert resend_lost_deliveries() == 0  # safe to run twice: each is re-sent once

    received = _received(httpserver, 2)
    assert sorted(m["title"] for m in received) == ["never sent", "worker killed"]
    sent = {d.pk: (d.status, d.attempts) for d in _delivered(2)}
    assert sent == {never_sent.pk: ("sent", 1), half_sent.pk: ("sent", 2)}
    assert Delivery.objects.get(pk=young.pk).status == "pending"
    # A duplicate message for a delivery already sent sends nothing.
    duplicate = deliver.delay(never_sent.pk)
    done = f"notifications.deliver[{duplicate.id}] succeeded".encode()
    wait_for(lambda: done in worker["log"].read_bytes(), what="the duplicate to be handled")
    assert len(httpserver.log) == 2
    assert Delivery.objects.get(pk=never_sent.pk).attempts == 1


@pytest.mark.worker
def test_it_asks_the_approvers_and_tells_the_requesters(
    worker, catalog, owner, outsider, ops, teams, httpserver
):
    alpha = _hook(httpserver, "/alpha")
    beta = _hook(httpserver, "/beta")
    add_destination(user=ops, team=teams["alpha"], name="a", url=alpha, events=EVERYTHING)
    add_destination(user=ops, team=teams["beta"], name="b", url=beta, events=EVERYTHING)
    api = api_client_for(owner)

    created = request_via_api(api, "gated", "asked", {"message": "hi", "environment": "prod"})
    (asked,) = _delivered(1)
    assert (asked.event, asked.destination.team.slug) == ("approval_requested", "beta")
    assert "owner asks to provision alpha/asked" in asked.body
    approval_id = Service.objects.get(pk=created["id"]).last_run.approval.pk
    rejected = api_client_for(outsider).post(
        f"/api/approvals/{approval_id}/reject/", {"comment": "use staging"}, format="json"
    )
    assert rejected.status_code == 200

    decided = _delivered(2)[0]
    assert (decided.event, decided.destination.team.slug) == ("approval_decided", "alpha")
    assert "was rejected by outsider" in decided.body and "use staging" in decided.body
    paths = sorted(request.path for request, _ in httpserver.log)
    assert paths == ["/alpha", "/beta"]


@pytest.mark.django_db
def test_it_warns_before_expiry_and_says_when_a_service_expired(catalog, teams, owner, ops):
    from factories import make_service
    from provisioning import housekeeping

    add_destination(
        user=ops,
        team=teams["alpha"],
        name="chat",
        url="json://127.0.0.1:9/",
        events=["service_expiring", "service_expired"],
    )
    soon = make_service(template=catalog["echo"], team=teams["alpha"], name="soon", user=owner)
    gone = make_service(template=catalog["echo"], team=teams["alpha"], name="gone", user=owner)
    Service.objects.filter(pk=soon.pk).update(expires_at=timezone.now() + timedelta(hours=3))
    Service.objects.filter(pk=gone.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert housekeeping.expire_services() == {"warned": 1, "expired": 1}
    assert housekeeping.expire_services() == {"warned": 0, "expired": 0}

    sent = {(d.event, d.service.name) for d in Delivery.objects.all()}
    assert sent == {("service_expiring", "soon"), ("service_expired", "gone")}


@pytest.mark.django_db
def test_it_says_drift_once_when_a_service_starts_drifting(catalog, teams, owner, ops):
    from factories import make_service
    from provisioning import runner
    from provisioning.execution import finish_run
    from provisioning.queueing import queue_run

    add_destination(
        user=ops,
        team=teams["alpha"],
        name="chat",
        url="json://127.0.0.1:9/",
        events=["drift_detected"],
    )
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="d", user=owner)
    drift = [{"task": "Write the file", "host": "localhost", "diff": "+x"}]

    for _ in range(2):
        run = queue_run(service=service, action="drift_check", user=None, inputs=service.inputs)
        Run.objects.filter(pk=run.pk).update(status="running")
        finish_run(run=run, result=runner.PlaybookResult("successful", 0, changes=drift))

    (delivery,) = Delivery.objects.all()
    assert delivery.title == "[Gangplank] drift on alpha/d"
    assert "Write the file" in delivery.body


@pytest.mark.django_db
def test_admins_manage_destinations_and_nobody_reads_the_url_back(teams, owner, team_admin):
    admin = api_client_for(team_admin)
    secret_url = "json://127.0.0.1:9/hook?token=s3cr3t-value"

    url = admin.post(
        "/api/teams/alpha/destinations/",
        {"name": "x", "url": "nonsense://x", "events": ["run_failed"]},
        format="json",
    )
    assert url.status_code == 400
    assert list(url.json()) == ["url"] and "apprise" in url.json()["url"][0]
    events = admin.post(
        "/api/teams/alpha/destinations/",
        {"name": "x", "url": secret_url, "events": ["nope"]},
        format="json",
    )
    assert events.status_code == 400 and list(events.json()) == ["events"]
    created = admin.post(
        "/api/teams/alpha/destinations/",
        {"name": "chat", "url": secret_url, "events": ["run_failed"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    listed = api_client_for(owner).get("/api/teams/alpha/destinations/")
    for response in (created, listed):
        assert "s3cr3t-value" not in response.content.decode()
    assert listed.json()["results"][0]["events"] == ["run_failed"]
    member = api_client_for(owner).post(
        "/api/teams/alpha/destinations/",
        {"name": "mine", "url": secret_url, "events": ["run_failed"]},
        format="json",
    )
    assert member.status_code == 403
    # Who may is answered before what was sent: no field errors for those who may not.
    for body in ({}, {"name": "", "url": "nonsense://x", "events": ["nope"]}):
        unsent = api_client_for(owner).post("/api/teams/alpha/destinations/", body, format="json")
        assert unsent.status_code == 403, unsent.json()
        assert unsent.json() == {
            "detail": "Only the team's admins and platform engineers manage the team."
        }
    doomed = created.json()["id"]
    assert (
        api_client_for(owner).delete(f"/api/teams/alpha/destinations/{doomed}/").status_code == 403
    )
    assert admin.delete(f"/api/teams/alpha/destinations/{doomed}/").status_code == 204
    assert not Destination.objects.exists()


@pytest.mark.django_db
def test_the_portal_adds_destinations_with_errors_on_the_form(teams, owner, team_admin, client):
    client.force_login(owner)  # a member: no manage column, so the empty row spans two
    assert b'<td colspan="2"' in client.get("/teams/alpha/notifications/").content
    client.force_login(team_admin)

    refused = client.post(
        "/teams/alpha/notifications/",
        {"name": "chat", "url": "nonsense://x", "events": ["run_failed"]},
    )
    assert refused.status_code == 400
    assert b"Not a notification URL apprise understands" in refused.content
    added = client.post(
        "/teams/alpha/notifications/",
        {
            "name": "chat",
            "url": "json://127.0.0.1:9/x?token=zzz",
            "events": ["run_failed", "drift_detected"],
        },
    )
    assert added.status_code == 302
    page = client.get("/teams/alpha/notifications/").content.decode()
    assert 'data-destination="chat"' in page and "run_failed, drift_detected" in page
    assert "zzz" not in page


@pytest.fixture
def leaky_plugin(monkeypatch):
    """A real apprise plugin of our own that, as some do, quotes its URL when it fails;
    allowed as a service whose host apprise fixes."""
    from apprise.decorators import notify
    from apprise.manager_plugins import NotificationManager

    from notifications import outbound

    @notify(on="leaky")
    def leaky(body, title, notify_type, meta, *args, **kwargs):
        logging.getLogger("apprise").warning("Could not post to %s", meta["url"])
        logging.getLogger("apprise").warning(
            "%s refused %s (token %s)", meta["host"], meta["password"], meta["query"]
        )
        return False

    monkeypatch.setitem(outbound.SCHEMES, "leaky", None)
    yield
    NotificationManager().remove("leaky")


@pytest.mark.django_db
def test_it_records_a_generic_error_and_logs_the_details_with_credentials_masked(
    teams, ops, team_admin, client, leaky_plugin, caplog
):
    from notifications.services import deliver, test_destination

    url = "leaky://bot:pa55word@hooks.example.com/services/T000/s3cr3t-token?key=an0ther-secret"
    destination = add_destination(
        user=ops, team=teams["alpha"], name="leaky", url=url, events=EVERYTHING
    )
    delivery = test_destination(user=ops, destination=destination)

    deliver(delivery_id=delivery.pk)  # what the worker does, here where the plugin is

    assert Delivery.objects.get(pk=delivery.pk).error == FAILED
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "notifications.services"]
    assert (
        "Could not post to ********; hooks.example.com refused ******** (token ********)" in logged
    ), logged
    listed = api_client_for(team_admin).get(
        f"/api/teams/alpha/destinations/{destination.pk}/deliveries/"
    )
    client.force_login(team_admin)
    page = client.get("/teams/alpha/notifications/")
    assert listed.json()["results"][0]["error"] == FAILED and b"data-error" in page.content
    for shown in (logged, listed.content.decode(), page.content.decode()):
        for secret in ("pa55word", "s3cr3t-token", "an0ther-secret"):
            assert secret not in shown


DELIVERIES = "/api/teams/{team_slug}/destinations/{pk}/deliveries/"


@pytest.mark.django_db
def test_it_lists_deliveries_with_a_constant_number_of_queries(
    teams, ops, team_admin, django_assert_max_num_queries
):
    destination = add_destination(
        user=ops, team=teams["alpha"], name="chat", url="json://127.0.0.1:9/", events=EVERYTHING
    )
    api = api_client_for(team_admin)
    path = f"/api/teams/alpha/destinations/{destination.pk}/deliveries/"

    def add(count):
        Delivery.objects.bulk_create(
            Delivery(destination=destination, event="test", title="t", body="b")
            for _ in range(count)
        )

    add(2)
    with django_assert_max_num_queries(budget(DELIVERIES)) as few:
        assert len(api.get(path).json()["results"]) == 2
    add(30)
    with django_assert_max_num_queries(len(few)):
        assert len(api.get(path).json()["results"]) == 32
