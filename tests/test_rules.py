"""provisioning.rules: each rule of services and runs, written once, as plain functions of
values. No database: the services, runs and versions here are never saved."""

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Template, TemplateVersion
from provisioning import rules
from provisioning.models import Run, Service

CREATED = datetime(2030, 1, 1, tzinfo=UTC)


def version(pk: int, number: str, *, properties=None, lifetime=None) -> TemplateVersion:
    manifest = {"inputs": {"type": "object", "properties": properties or {}}}
    if lifetime:
        manifest["lifetime"] = lifetime
    return TemplateVersion(pk=pk, version=number, manifest=manifest, created_at=CREATED)


def service(*, status="active", failed_action="", installed=None, current=None, **fields):
    installed = installed or version(1, "1.0.0")
    made = Service(
        name="orders",
        status=status,
        failed_action=failed_action,
        template=Template(slug="db", current_version=current or installed),
        template_version=installed,
        created_at=CREATED,
        **fields,
    )
    return made


def run(pk: int, *, status="failed", action="update") -> Run:
    return Run(pk=pk, status=status, action=action)


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ab", "orders-db", "a1", "a" * 63])
def test_it_accepts_a_name_of_lowercase_letters_digits_and_hyphens(name):
    assert rules.is_valid_name(name)


@pytest.mark.parametrize(
    "name", ["", None, "a", "a" * 64, "1ab", "-ab", "Orders", "or_ders", "ab\n", "ab cd"]
)
def test_it_refuses_any_other_name(name):
    assert not rules.is_valid_name(name)


def test_it_gives_the_request_form_the_same_pattern_and_length():
    from provisioning.forms import ServiceRequestForm

    field = ServiceRequestForm.base_fields["name"]
    assert field.max_length == rules.NAME_MAX_LENGTH
    assert field.widget.attrs["pattern"] == rules.NAME_PATTERN


# --- retries --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["failed", "canceled"])
def test_it_retries_the_latest_run_that_failed_or_was_canceled(status):
    failed = run(7, status=status)

    assert rules.retry_refusal(run=failed, service=service(status="failed", last_run_id=7)) is None
    assert rules.can_retry(run=failed, service=service(status="failed", last_run_id=7))


def test_it_does_not_retry_a_run_that_succeeded():
    refusal = rules.retry_refusal(run=run(7, status="succeeded"), service=service(last_run_id=7))

    assert refusal == "Run 7 did not fail; only failed or canceled runs are retried."


def test_it_does_not_retry_a_run_that_is_no_longer_the_latest():
    refusal = rules.retry_refusal(run=run(7), service=service(status="failed", last_run_id=8))

    assert refusal == "Run 7 is not the service's latest run; start a new action."


def test_it_does_not_retry_an_action_the_services_status_no_longer_allows():
    gone = service(status="deprovisioned", last_run_id=7)

    refusal = rules.retry_refusal(run=run(7, status="canceled", action="update"), service=gone)

    assert refusal == "orders is deprovisioned: it cannot update now."
    assert not rules.can_retry(run=run(7, status="canceled"), service=gone)


def test_it_calls_a_deprovision_after_a_failed_provision_a_clean_up():
    assert rules.is_cleanup(status="failed", failed_action="provision")
    assert not rules.is_cleanup(status="failed", failed_action="update")
    assert not rules.is_cleanup(status="active", failed_action="")


# --- upgrades and inputs --------------------------------------------------------------------


def test_it_offers_the_current_version_when_it_is_newer():
    newer = version(2, "1.1.0")

    assert rules.upgrade_target(service(current=newer)) is newer


@pytest.mark.parametrize("number", ["1.0.0", "0.9.0"])
def test_it_offers_no_upgrade_to_the_same_or_an_older_version(number):
    installed = version(1, "1.0.0")

    assert rules.upgrade_target(service(installed=installed)) is None
    assert rules.upgrade_target(service(installed=installed, current=version(2, number))) is None


def test_it_locks_the_read_only_inputs_the_service_has():
    target = version(
        2,
        "2.0.0",
        properties={"db_name": {"readOnly": True}, "owner": {"readOnly": True}, "size": {}},
    )
    made = service(inputs={"db_name": "orders", "size": "small"})

    assert rules.locked_inputs(made, target) == {"db_name"}


def test_it_carries_over_the_inputs_the_new_version_still_declares():
    target = version(2, "2.0.0", properties={"size": {}, "tier": {}})
    made = service(inputs={"size": "small", "legacy": True})

    assert rules.carried_inputs(made, target) == {"size": "small"}


# --- expiry ---------------------------------------------------------------------------------


def test_it_allows_an_expiry_up_to_the_maximum_lifetime_from_creation():
    limited = version(1, "1.0.0", lifetime={"default": "7d", "max": "30d"})
    made = service(installed=limited, expires_at=CREATED + timedelta(days=7))

    assert rules.latest_expiry(made) == CREATED + timedelta(days=30)


def test_it_has_no_latest_expiry_for_a_service_that_does_not_expire():
    limited = version(1, "1.0.0", lifetime={"max": "30d"})

    assert rules.latest_expiry(service(installed=limited, expires_at=None)) is None
    assert rules.latest_expiry(service(expires_at=CREATED + timedelta(days=1))) is None
