"""Notifications go only to public addresses and a few services, checked when a destination is
saved and again, connection by connection, when it is sent (notifications/outbound.py).

The suite allows 127.0.0.1 and ::1 for its receivers (conftest.LOCAL_NETWORKS), in this
process and the worker's; other loopback addresses such as 127.0.0.2 stand for internal ones.
"""

import ipaddress
import socket

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from conftest import NOTIFY_ATTEMPTS, api_client_for, wait_for
from notifications import outbound, services
from notifications.models import Delivery
from notifications.services import FAILED, REFUSED, add_destination

NOT_PUBLIC = "is not a public address"
LOOPBACK = ["json://127.0.0.1:9/h", "json://[::1]:9/h", "json://localhost:9/h",
            "json://2130706433:9/h", "json://0x7f000001:9/h"]  # fmt: skip
INTERNAL = ["json://10.1.2.3/h", "xml://192.168.0.1/h", "form://100.64.0.1/h",
            "json://169.254.169.254/latest/meta-data/", "json://[fd00:ec2::254]/h",
            "json://[fe80::1]/h", "json://0.0.0.0/h", "json://224.0.0.1/h",
            "json://[::ffff:127.0.0.1]/h", "mmost://10.0.0.5/token",
            "mailto://user:pw@example.com?smtp=10.0.0.25&from=a@example.com"]  # fmt: skip


def _post(client, url: str):
    return client.post(
        "/api/teams/alpha/destinations/",
        {"name": f"d{abs(hash(url))}", "url": url, "events": ["run_failed"]},
        format="json",
    )


@pytest.mark.django_db
def test_it_refuses_internal_addresses_with_a_field_error_unless_the_deployment_allows_them(
    teams, team_admin, settings
):
    admin = api_client_for(team_admin)
    settings.GANGPLANK_NOTIFY_ALLOWED_NETWORKS = ()

    for url in LOOPBACK + INTERNAL:
        refused = _post(admin, url)
        assert refused.status_code == 400, (url, refused.json())
        assert list(refused.json()) == ["url"] and NOT_PUBLIC in refused.json()["url"][0], url

    settings.GANGPLANK_NOTIFY_ALLOWED_NETWORKS = (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("169.254.0.0/16"),
    )
    for url in LOOPBACK:
        assert _post(admin, url).status_code == 201, url
    for url in INTERNAL:  # outside the allowed networks, or metadata: never allowed
        assert _post(admin, url).status_code == 400, url


@pytest.mark.django_db
def test_it_allows_a_few_services_and_refuses_custom_headers_and_methods(teams, team_admin):
    admin = api_client_for(team_admin)
    refusals = {
        "json://127.0.0.1:9/admin?+X-Injected=yes": "Custom headers",
        "json://127.0.0.1:9/admin?%2BX-Injected=yes": "Custom headers",
        "json://127.0.0.1:9/admin?method=GET": "POST only",
        "https://hooks.slack.com/services/T0000/B0000/XXXXXXXX": "go only to json://",
        "nonsense://x": "apprise understands",
    }
    for url, reason in refusals.items():
        refused = _post(admin, url)
        assert refused.status_code == 400 and reason in refused.json()["url"][0], url

    # A service at a host apprise fixes: nothing to resolve now; guarded when sent.
    assert _post(admin, "slack://T0000/B0000/XXXXXXXX").status_code == 201


@pytest.mark.django_db
def test_the_portal_form_says_why_an_address_is_refused(teams, team_admin, client, settings):
    settings.GANGPLANK_NOTIFY_ALLOWED_NETWORKS = ()
    client.force_login(team_admin)

    for url in ("json://localhost:9/h", "json://2130706433:9/h", "json://169.254.169.254/"):
        refused = client.post(
            "/teams/alpha/notifications/", {"name": "n", "url": url, "events": ["run_failed"]}
        )
        assert refused.status_code == 400
        assert NOT_PUBLIC in refused.content.decode(), url


def test_it_judges_every_address_by_what_it_stands_for():
    allowed = (ipaddress.ip_network("10.9.0.0/16"), ipaddress.ip_network("169.254.0.0/16"))
    public = ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"]
    internal = ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1",
                "169.254.169.254", "168.63.129.16", "100.100.100.200", "0.0.0.0", "::",
                "::1", "fe80::1%lo", "fc00::1", "fd00:ec2::254", "ff02::1", "239.1.1.1",
                "240.0.0.1", "192.0.2.1", "64:ff9b::a00:1", "2002:7f00:1::1",
                "::ffff:127.0.0.1"]  # fmt: skip
    assert [a for a in public if not outbound.is_allowed(a, allowed=())] == []
    assert [a for a in internal if outbound.is_allowed(a, allowed=())] == []
    # The deployment's networks, but never a cloud metadata address.
    assert outbound.is_allowed("10.9.8.7", allowed=allowed)
    assert not outbound.is_allowed("10.10.0.1", allowed=allowed)
    assert not outbound.is_allowed("169.254.169.254", allowed=allowed)


def test_the_guard_checks_every_connection_of_a_send_and_nothing_else():
    loopback = (ipaddress.ip_network("127.0.0.1/32"),)

    with outbound._guard(()) as refused:
        with pytest.raises(socket.gaierror):
            socket.create_connection(("localhost", 9))
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("2130706433", 80)
    assert refused == ["localhost", "2130706433"]
    with outbound._guard(loopback) as refused:
        assert socket.getaddrinfo("127.0.0.1", 80)
    assert refused == []
    assert socket.getaddrinfo("localhost", 80)  # outside a send, nothing changes


@pytest.fixture
def internal_server():
    """A receiver on 127.0.0.2: loopback, but not among the suite's allowed networks."""
    server = HTTPServer(host="127.0.0.2")
    server.expect_request("/landing").respond_with_data("you should not be here")
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def _ended(destination) -> Delivery:
    def done():
        return Delivery.objects.filter(destination=destination).exclude(status="pending").first()

    return wait_for(done, what="the delivery to end")


@pytest.mark.worker
def test_it_refuses_at_send_a_destination_that_is_no_longer_public(
    worker, teams, ops, internal_server, settings
):
    # Saved while its address was allowed; the worker, like DNS that changed, says otherwise.
    settings.GANGPLANK_NOTIFY_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    url = f"json://127.0.0.2:{internal_server.port}/landing"
    destination = add_destination(
        user=ops, team=teams["alpha"], name="moved", url=url, events=["run_failed"]
    )

    services.test_destination(user=ops, destination=destination)

    delivery = _ended(destination)
    assert (delivery.status, delivery.attempts, delivery.error) == (
        "failed",
        NOTIFY_ATTEMPTS,
        REFUSED,
    )
    assert internal_server.log == []


@pytest.mark.worker
def test_it_does_not_follow_a_redirect_to_an_address_it_refuses(
    worker, teams, ops, httpserver, internal_server
):
    landing = f"http://127.0.0.2:{internal_server.port}/landing"
    httpserver.expect_request("/hop", method="POST").respond_with_response(
        Response(status=307, headers={"Location": landing})
    )
    url = f"json://{httpserver.host}:{httpserver.port}/hop"
    destination = add_destination(
        user=ops, team=teams["alpha"], name="hop", url=url, events=["run_failed"]
    )

    services.test_destination(user=ops, destination=destination)

    delivery = _ended(destination)
    assert (delivery.status, delivery.error) == ("failed", REFUSED)
    assert len(httpserver.log) == NOTIFY_ATTEMPTS
    assert internal_server.log == []


@pytest.mark.worker
def test_it_records_the_same_error_whether_nothing_listened_or_something_answered(
    worker, teams, ops, team_admin, httpserver
):
    httpserver.expect_request("/teapot", method="POST").respond_with_data("no", 418)
    urls = {
        "closed": "json://127.0.0.1:9/x",
        "teapot": f"json://127.0.0.1:{httpserver.port}/teapot",
    }
    destinations = [
        add_destination(user=ops, team=teams["alpha"], name=name, url=url, events=["run_failed"])
        for name, url in urls.items()
    ]

    for destination in destinations:
        services.test_destination(user=ops, destination=destination)

    errors = {_ended(d).error for d in destinations}
    assert errors == {FAILED}
    assert len(httpserver.log) == NOTIFY_ATTEMPTS  # the teapot did answer
    listed = api_client_for(team_admin).get(
        f"/api/teams/alpha/destinations/{destinations[1].pk}/deliveries/"
    )
    assert listed.json()["results"][0]["error"] == FAILED
