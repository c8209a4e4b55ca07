"""The login lockout counts failures per username and client address, the client being the
peer unless the peer is a trusted proxy (GANGPLANK_TRUSTED_PROXIES): nobody can lock a user
out from elsewhere, nor pass for another address with a forged X-Forwarded-For. The audit
trail records the same address."""

import ipaddress
import subprocess
import sys

import pytest
from django.test import Client

from audit.models import AuditEvent
from conftest import ROOT

pytestmark = pytest.mark.django_db

PROXY = "127.0.0.1"  # the test client's REMOTE_ADDR


def login(password: str, **meta) -> int:
    response = Client().post("/login/", {"username": "owner", "password": password}, **meta)
    return response.status_code


def fail_until_locked(settings, **meta) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login("wrong", **meta) == 200
    assert login("wrong", **meta) == 429
    assert login("pw-owner", **meta) == 429, "not locked out"


@pytest.fixture
def behind_proxy(settings):
    settings.GANGPLANK_TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.0/8")]


def test_it_locks_out_the_forwarded_client_only_behind_a_trusted_proxy(
    owner, settings, behind_proxy
):
    fail_until_locked(settings, HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert login("pw-owner", HTTP_X_FORWARDED_FOR="198.51.100.9") == 302
    assert login("pw-owner", HTTP_X_FORWARDED_FOR="203.0.113.7") == 429


def test_it_reads_the_rightmost_address_that_is_not_a_proxy(owner, settings, behind_proxy):
    # The client forged the first entry; the proxies appended the rest.
    chain = "198.51.100.9, 203.0.113.7, 127.0.0.2"
    fail_until_locked(settings, HTTP_X_FORWARDED_FOR=chain)

    assert login("pw-owner", HTTP_X_FORWARDED_FOR="198.51.100.9") == 302
    assert login("pw-owner", HTTP_X_FORWARDED_FOR="203.0.113.7") == 429
    addresses = set(AuditEvent.objects.values_list("address", flat=True))
    assert addresses == {"203.0.113.7", "198.51.100.9"}


def test_without_trusted_proxies_a_forged_forwarded_for_is_ignored(owner, settings):
    assert settings.GANGPLANK_TRUSTED_PROXIES == []
    for n in range(settings.AXES_FAILURE_LIMIT):
        login("wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    assert login("pw-owner", HTTP_X_FORWARDED_FOR="198.51.100.9") == 429
    failed = AuditEvent.objects.filter(action="auth.login_failed")
    assert set(failed.values_list("address", flat=True)) == {PROXY}


def test_a_forwarded_for_from_an_untrusted_peer_is_ignored(owner, settings):
    settings.GANGPLANK_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    fail_until_locked(settings, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert login("pw-owner", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.9") == 429
    assert login("pw-owner", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7") == 302


def test_a_user_locked_out_at_one_address_still_logs_in_from_another(owner, settings):
    fail_until_locked(settings, REMOTE_ADDR="192.0.2.1")

    assert login("pw-owner", REMOTE_ADDR="192.0.2.2") == 302
    assert login("pw-owner", REMOTE_ADDR="192.0.2.1") == 429


def test_a_forwarded_for_that_is_not_an_address_stops_at_the_last_proxy(
    owner, settings, behind_proxy
):
    login("wrong", HTTP_X_FORWARDED_FOR="203.0.113.7, not-an-address")

    assert AuditEvent.objects.get(action="auth.login_failed").address == PROXY


def test_it_refuses_to_start_with_a_trusted_proxy_that_is_not_an_address(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        env={
            "PATH": "/usr/bin:/bin",
            "GANGPLANK_DATA_DIR": str(tmp_path),
            "GANGPLANK_TRUSTED_PROXIES": "10.0.0.1, proxy.internal",
        },
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    message = "GANGPLANK_TRUSTED_PROXIES: 'proxy.internal' is not an IP address or CIDR"
    assert message in result.stderr
