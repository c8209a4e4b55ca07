"""Secret inputs: encrypted at rest, masked wherever they could show, never returned, and
still given to the playbook."""

import hashlib
import json
import logging
import secrets as random
import stat
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent
from catalog.models import Template, TemplateVersion
from catalog.schema import secret_names
from catalog.services import sync_catalog
from conftest import TEST_CATALOG, request_via_api, wait_for_run, write_template
from core import checks, keys, masking, reencryption, secrets
from credentials.models import Credential
from provisioning.models import Run, Service
from provisioning.runner import run_playbook

LEAKY = TEST_CATALOG / "leaky"


def planted() -> str:
    """A secret no one could find by chance."""
    return f"planted-{random.token_hex(12)}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def key_dir(settings, tmp_path):
    """Keys of the test's own: a key file in a data dir of its own."""
    settings.DATA_DIR = tmp_path
    settings.GANGPLANK_ENCRYPTION_KEYS = []
    return tmp_path


# --- core.secrets, core.keys, core.checks ---


def test_it_encrypts_a_round_trip_with_a_key_file_made_private(key_dir):
    token = secrets.encrypt(values={"password": "hunter2-hunter2"})

    assert "hunter2" not in token
    assert secrets.decrypt(token=token) == {"password": "hunter2-hunter2"}
    key_file = key_dir / "encryption-keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().split()) == 1
    assert secrets.encrypt(values={}) == "" and secrets.decrypt(token="") == {}


def test_an_old_token_is_still_read_after_a_rotation_and_rotates_to_the_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.GANGPLANK_ENCRYPTION_KEYS = [old]
    token = secrets.encrypt(values={"password": "s3cret-value"})

    settings.GANGPLANK_ENCRYPTION_KEYS = [new, old]
    assert secrets.decrypt(token=token) == {"password": "s3cret-value"}
    rotated = secrets.rotate(token=token)

    settings.GANGPLANK_ENCRYPTION_KEYS = [new]
    assert secrets.decrypt(token=rotated) == {"password": "s3cret-value"}
    with pytest.raises(secrets.UnreadableSecrets):
        secrets.decrypt(token=token)


def test_a_running_process_reads_a_token_made_with_a_key_added_since(key_dir):
    secrets.decrypt(token=secrets.encrypt(values={"a": "b"}))  # keys read and cached
    keys.add_key()
    newest = (key_dir / "encryption-keys").read_text().split()[0]
    token = Fernet(newest).encrypt(json.dumps({"a": "c"}).encode()).decode()

    assert secrets.decrypt(token=token) == {"a": "c"}


def test_a_bad_key_is_refused_with_a_readable_error(settings):
    settings.GANGPLANK_ENCRYPTION_KEYS = ["not-a-key"]

    with pytest.raises(ImproperlyConfigured, match="GANGPLANK_ENCRYPTION_KEYS: key 1 is not"):
        secrets.encrypt(values={"a": "b"})


def test_a_broken_key_file_fails_the_checks_and_the_rotation_readably(key_dir):
    (key_dir / "encryption-keys").write_text("garbage\n")

    errors = checks.check_keys()
    with pytest.raises(CommandError, match="encryption-keys: key 1 is not a Fernet key"):
        call_command("rotate_encryption_keys")

    assert [error.id for error in errors] == ["gangplank.E001"]
    assert "key 1 is not a Fernet key" in errors[0].msg
    assert (key_dir / "encryption-keys").read_text() == "garbage\n"


def test_it_masks_every_secret_everywhere_in_nested_values_longest_first():
    value = {
        "msg": "abc and abcdef",
        "list": ["x abc", {"abc": ["deep abcdef"]}],
        "quoted": json.dumps({"k": 'say "abc"def'}),
        "count": 3,
    }

    masked = masking.mask(value, secrets=["abc", "abcdef", "", 'say "abc"'])

    assert masked == {
        "msg": "******** and ********",
        "list": ["x ********", {"********": ["deep ********"]}],
        "quoted": '{"k": "********def"}',
        "count": 3,
    }


# --- the catalogue ---


@pytest.mark.django_db
def test_the_loader_refuses_a_secret_with_a_default_or_that_is_not_a_string(tmp_path):
    write_template(
        tmp_path,
        "defaulted",
        properties={"pw": {"type": "string", "format": "password", "default": "x"}},
    )
    write_template(tmp_path, "numeric", properties={"pin": {"type": "integer", "writeOnly": True}})
    write_template(tmp_path, "fine", properties={"pw": {"type": "string", "writeOnly": True}})

    report = sync_catalog(directory=tmp_path)

    problems = {(p["file"], p["field"]): p["message"] for p in report.problems}
    assert (
        "would sit in the repository"
        in problems[("defaulted/template.yml", "inputs.properties.pw.default")]
    )
    assert "must be string" in problems[("numeric/template.yml", "inputs.properties.pin.type")]
    assert report.created == ["fine"]


def test_secret_names_are_the_password_and_write_only_inputs():
    schema = yaml.safe_load((LEAKY / "template.yml").read_text())["inputs"]

    assert secret_names(schema) == {"password", "token"}


# --- the runner ---


def test_the_runner_gives_the_playbook_the_secret_and_masks_it_in_all_it_returns(tmp_path):
    password, label = planted(), "lbl"
    files = {p.name: p.read_text() for p in LEAKY.iterdir()}
    batches: list = []

    result = run_playbook(
        files=files,
        playbook="update.yml",
        extravars={
            "password": password,
            "label": label,
            "fail_update": True,
            "gangplank": {"run_id": 1, "action": "update"},
        },
        on_events=batches.append,
        data_root=tmp_path,
        check=False,
        secrets=[password],
    )

    assert not result.ok
    assert f"Refusing {label} with password ********" in result.error
    shown = json.dumps([batches, result.outputs, result.changes, result.error])
    assert password not in shown
    assert "The password is ********" in shown and "password=********" in shown
    assert list(tmp_path.iterdir()) == []


def test_the_extra_vars_leave_the_disk_once_the_playbook_has_read_them(tmp_path):
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug: msg="{{ password }}"
    - ansible.builtin.wait_for:
        path: "{{ playbook_dir }}/../env/extravars"
        state: absent
        timeout: 20
    - ansible.builtin.find:
        # All but tmp/, where this very task's module (and its arguments) sits.
        paths:
          - "{{ playbook_dir }}"
          - "{{ playbook_dir }}/../env"
          - "{{ playbook_dir }}/../artifacts"
        recurse: true
        contains: ".*{{ password }}.*"
      register: found
    - ansible.builtin.set_stats:
        data: {files: "{{ found.files | map(attribute='path') | list }}"}
"""
    password = planted()

    result = run_playbook(
        files={"play.yml": playbook},
        playbook="play.yml",
        extravars={"password": password},
        on_events=lambda events: None,
        data_root=tmp_path,
        secrets=[password],
    )

    assert result.ok, result.error
    assert result.outputs["files"] == []


# --- the API and the portal, runs queued only ---


def settle(service_id: int, *, failed: bool = False) -> None:
    """End the service's last run here, as a worker would (these tests run none)."""
    run = Service.objects.get(pk=service_id).last_run
    Run.objects.filter(pk=run.pk).update(status="failed" if failed else "succeeded")
    Service.objects.filter(pk=service_id).update(
        status="failed" if failed else "active", failed_action=run.action if failed else ""
    )


@pytest.fixture
def leaky(db, catalog, api):
    """A leaky service as it is once provisioned: active with its first secret."""
    password = planted()
    body = request_via_api(api, "leaky", "vault", {"password": password, "label": "one"})
    settle(body["id"])
    return Service.objects.get(pk=body["id"]), password


def test_the_api_answers_a_placeholder_and_stores_the_secret_encrypted(leaky, api):
    service, password = leaky

    body = api.get(f"/api/services/{service.pk}/").json()

    assert body["inputs"] == {
        "password": "$encrypted$",
        "label": "one",
        "fail_update": False,
    }
    assert "secrets" not in body
    run = api.get(f"/api/runs/{service.last_run_id}/").json()
    assert run["inputs"]["password"] == "$encrypted$" and "secrets" not in run
    assert service.inputs["password"] == "$encrypted$"
    assert password not in service.secrets
    assert secrets.decrypt(token=service.secrets) == {"password": password}
    assert service.last_run.secrets == service.secrets


def test_the_placeholder_or_an_omitted_secret_keeps_it_and_a_new_one_replaces_it(leaky, api):
    service, password = leaky

    kept = api.post(
        f"/api/services/{service.pk}/update/",
        {"inputs": {"password": "$encrypted$", "label": "two"}},
        format="json",
    )
    assert kept.status_code == 202, kept.json()
    run = Run.objects.get(pk=kept.json()["id"])
    assert run.secrets == service.secrets  # the same token: the same secrets
    assert run.inputs["password"] == "$encrypted$"
    queued = AuditEvent.objects.get(action="run.queued.update", object_id=str(run.pk))
    assert queued.changes == {"label": ["one", "two"]}

    settle(service.pk, failed=True)
    retried = api.post(f"/api/runs/{run.pk}/retry/")
    assert retried.status_code == 202, retried.json()
    retry = Run.objects.get(pk=retried.json()["id"])
    assert secrets.decrypt(token=retry.secrets) == {"password": password}

    settle(service.pk, failed=True)
    omitted = api.post(
        f"/api/services/{service.pk}/update/", {"inputs": {"label": "three"}}, format="json"
    )
    assert omitted.status_code == 202, omitted.json()
    run = Run.objects.get(pk=omitted.json()["id"])
    assert secrets.decrypt(token=run.secrets) == {"password": password}

    settle(service.pk, failed=True)
    new = planted()
    replaced = api.post(
        f"/api/services/{service.pk}/update/", {"inputs": {"password": new}}, format="json"
    )
    assert replaced.status_code == 202, replaced.json()
    assert new not in json.dumps(replaced.json())
    run = Run.objects.get(pk=replaced.json()["id"])
    assert secrets.decrypt(token=run.secrets) == {"password": new}
    queued = AuditEvent.objects.get(action="run.queued.update", object_id=str(run.pk))
    assert queued.changes == {"password": ["********", "********"]}


def test_an_upgrade_and_a_preview_carry_the_secret_over(leaky, api):
    service, password = leaky
    current = service.template_version
    schema = current.inputs_schema
    newer = TemplateVersion.objects.create(
        template=service.template,
        version="1.1.0",
        digest="digest-1.1.0",
        files=current.files,
        manifest={
            **current.manifest,
            "version": "1.1.0",
            "inputs": {
                **schema,
                "properties": {**schema["properties"], "extra": {"type": "string", "default": "x"}},
            },
        },
    )
    Template.objects.filter(pk=service.template_id).update(current_version=newer)

    preview = api.post(
        f"/api/services/{service.pk}/preview/",
        {"inputs": {"password": "$encrypted$"}, "upgrade": True},
        format="json",
    )
    assert preview.status_code == 202, preview.json()
    assert secrets.decrypt(token=Run.objects.get(pk=preview.json()["id"]).secrets) == {
        "password": password
    }
    settle(service.pk)
    upgrade = api.post(f"/api/services/{service.pk}/upgrade/", {}, format="json")

    assert upgrade.status_code == 202, upgrade.json()
    run = Run.objects.get(pk=upgrade.json()["id"])
    assert run.template_version == newer
    assert secrets.decrypt(token=run.secrets) == {"password": password}
    queued = AuditEvent.objects.get(action="run.queued.upgrade", object_id=str(run.pk))
    assert queued.changes == {"extra": [None, "x"]}


def test_a_secret_is_still_checked_against_its_schema_without_being_echoed(db, catalog, api):
    short = "tiny-secret"  # minLength is 12

    response = api.post(
        "/api/services/",
        {"template": "leaky", "team": "alpha", "name": "vault", "inputs": {"password": short}},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["inputs"]
    assert errors["password"] == ["Must be at least 12 characters long."]
    assert short not in response.content.decode()
    assert not Service.objects.exists()


def test_a_read_only_secret_is_kept_and_cannot_be_changed(db, catalog, api):
    token = planted()
    body = request_via_api(
        api, "leaky", "vault", {"password": planted(), "label": "x", "token": token}
    )
    settle(body["id"])

    refused = api.post(
        f"/api/services/{body['id']}/update/", {"inputs": {"token": planted()}}, format="json"
    )
    kept = api.post(
        f"/api/services/{body['id']}/update/",
        {"inputs": {"token": "$encrypted$", "label": "y"}},
        format="json",
    )

    assert refused.status_code == 400
    assert refused.json()["inputs"] == {"token": ["Cannot be changed after provisioning."]}
    assert kept.status_code == 202, kept.json()
    assert secrets.decrypt(token=Run.objects.get(pk=kept.json()["id"]).secrets)["token"] == token


def test_the_update_form_never_shows_a_secret_and_blank_keeps_it(leaky, client, owner):
    service, password = leaky
    client.force_login(owner)

    page = client.get(f"/services/{service.pk}/update/").content.decode()
    assert password not in page and "$encrypted$" not in page
    assert 'type="password" name="inputs-password"' in page
    assert "Leave blank to keep the current value." in page

    response = client.post(
        f"/services/{service.pk}/update/",
        {"inputs-password": "", "inputs-label": "renamed", "action": "apply"},
    )

    assert response.status_code == 302
    run = Service.objects.get(pk=service.pk).last_run
    assert run.action == "update" and run.inputs["label"] == "renamed"
    assert secrets.decrypt(token=run.secrets) == {"password": password}


def test_a_refused_request_form_does_not_echo_the_secret(db, catalog, client, owner):
    client.force_login(owner)
    short = "tiny-secret"

    response = client.post(
        "/catalog/leaky/",
        {"team": "alpha", "name": "vault", "inputs-password": short, "inputs-label": "x"},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Must be at least 12 characters long." in page
    assert short not in page
    assert not Service.objects.exists()


# --- rotating keys ---


def test_rotation_finds_every_encrypted_column():
    found = {(model._meta.label_lower, *names) for model, names in reencryption.encrypted_fields()}

    assert found == {
        ("catalog.catalogsource", "webhook_secret"),
        ("credentials.credential", "secrets"),
        ("notifications.destination", "secrets"),
        ("provisioning.service", "secrets"),
        ("provisioning.run", "secrets"),
    }


def test_rotating_the_key_file_re_encrypts_everything_then_drops_the_old_key(leaky, key_dir):
    service, password = leaky
    # The service was encrypted with the suite's keys: move it to this test's key file.
    token = secrets.encrypt(values={"password": password})
    Service.objects.filter(pk=service.pk).update(secrets=token)
    Run.objects.filter(service=service).update(secrets=token)
    Credential.objects.update(secrets=token)  # the catalogue's credentials rotate too
    old_key = (key_dir / "encryption-keys").read_text().split()

    call_command("rotate_encryption_keys")

    keys = (key_dir / "encryption-keys").read_text().split()
    assert len(keys) == 2 and keys[1:] == old_key
    rotated = Service.objects.get(pk=service.pk).secrets
    assert rotated != token and Fernet(keys[0]).decrypt(rotated.encode())
    assert all(run.secrets != token for run in Run.objects.filter(service=service))
    assert Credential.objects.exists() and not Credential.objects.filter(secrets=token).exists()

    call_command("rotate_encryption_keys", "--drop-old")

    keys = (key_dir / "encryption-keys").read_text().split()
    assert len(keys) == 1
    assert secrets.decrypt(token=Service.objects.get(pk=service.pk).secrets) == {
        "password": password
    }
    assert stat.S_IMODE((key_dir / "encryption-keys").stat().st_mode) == 0o600


def test_it_never_adds_a_key_and_drops_the_old_ones_in_the_same_run(leaky, key_dir):
    service, password = leaky
    key_file = key_dir / "encryption-keys"
    Service.objects.filter(pk=service.pk).update(secrets="")
    Run.objects.filter(service=service).update(secrets="")
    Credential.objects.update(secrets="")  # encrypted with the suite's keys
    # A process encrypts with the old key just before the rotation adds a new one...
    late = secrets.encrypt(values={"password": password})
    first_key = key_file.read_text()

    with pytest.raises(CommandError, match=r"nothing to drop\. A rotation takes two runs"):
        call_command("rotate_encryption_keys", "--drop-old")
    assert key_file.read_text() == first_key

    # ...and commits just after the rotation has re-encrypted the rows...
    call_command("rotate_encryption_keys")
    Service.objects.filter(pk=service.pk).update(secrets=late)
    newest = key_file.read_text().split()[0]

    # ...so dropping the old key, in a later run, re-encrypts first.
    call_command("rotate_encryption_keys", "--drop-old")

    assert key_file.read_text().split() == [newest]
    stored = Service.objects.get(pk=service.pk).secrets
    assert json.loads(Fernet(newest).decrypt(stored.encode())) == {"password": password}


def test_rotating_with_keys_from_the_environment_uses_their_first_key(leaky, settings, capsys):
    service, password = leaky
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.GANGPLANK_ENCRYPTION_KEYS = [old]
    Service.objects.filter(pk=service.pk).update(
        secrets=secrets.encrypt(values={"password": password})
    )
    Run.objects.filter(service=service).update(secrets="")
    Credential.objects.update(secrets="")  # encrypted with the suite's keys
    settings.GANGPLANK_ENCRYPTION_KEYS = [new, old]

    call_command("rotate_encryption_keys")

    assert "put a new key first" in capsys.readouterr().out
    settings.GANGPLANK_ENCRYPTION_KEYS = [new]
    assert secrets.decrypt(token=Service.objects.get(pk=service.pk).secrets) == {
        "password": password
    }
    with pytest.raises(CommandError, match="remove the old keys"):
        call_command("rotate_encryption_keys", "--drop-old")


def test_rotating_refuses_unreadable_secrets_and_changes_nothing(leaky, settings):
    service, _ = leaky
    Credential.objects.update(secrets="")  # only the service's are unreadable here
    settings.GANGPLANK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    before = Service.objects.get(pk=service.pk).secrets

    with pytest.raises(CommandError, match="Nothing was re-encrypted: service"):
        call_command("rotate_encryption_keys")

    assert Service.objects.get(pk=service.pk).secrets == before


# --- the planted secret, through the real worker ---


def test_it_leaks_no_planted_secret_anywhere_through_provision_update_failure_and_deprovision(
    worker, catalog, owner, ops, client, caplog
):
    from conftest import api_client_for

    caplog.set_level(logging.DEBUG)
    runs_before = set(settings.RUNS_DIR.iterdir()) if settings.RUNS_DIR.exists() else set()
    api = api_client_for(owner)
    first, second, failing, token = planted(), planted(), planted(), planted()
    answers: list[str] = []
    # Notifications of every run go out (and are stored) too: they must not carry it either.
    from notifications.models import Event
    from notifications.services import add_destination

    add_destination(user=ops, team=owner.memberships.get().team, name="chat",
                    url="json://127.0.0.1:9/hook", events=Event.values)  # fmt: skip

    def answered(response):
        answers.append(response.content.decode())
        return response.json()

    # Provision with the first secret: the playbook receives it.
    created = request_via_api(
        api, "leaky", "vault", {"password": first, "label": "one", "token": token}
    )
    answers.append(json.dumps(created))
    run = wait_for_run(api, created["last_run"]["id"])
    assert run["status"] == "succeeded", run
    assert run["outputs"]["password_sha256"] == sha256(first)
    assert run["outputs"]["token_sha256"] == sha256(token)
    assert run["outputs"]["password"] == "********"
    assert run["outputs"]["sentence"] == "one uses ******** as its password"

    # Update to the second secret.
    queued = answered(
        api.post(
            f"/api/services/{created['id']}/update/",
            {"inputs": {"password": second, "label": "two", "token": "$encrypted$"}},
            format="json",
        )
    )
    run = wait_for_run(api, queued["id"])
    assert run["status"] == "succeeded", run
    assert run["outputs"]["password_sha256"] == sha256(second)
    assert run["outputs"]["token_sha256"] == sha256(token)
    assert any("********" in change["diff"] for change in run["changes"]), run["changes"]

    # A failing update with a third: the error names it masked; the service keeps the second.
    queued = answered(
        api.post(
            f"/api/services/{created['id']}/update/",
            {"inputs": {"password": failing, "fail_update": True}},
            format="json",
        )
    )
    run = wait_for_run(api, queued["id"])
    assert run["status"] == "failed", run
    assert "Refusing two with password ********" in run["error"]
    service = Service.objects.get(pk=created["id"])
    assert secrets.decrypt(token=service.secrets) == {"password": second, "token": token}

    # Deprovision with the service's secrets.
    queued = answered(api.post(f"/api/services/{created['id']}/deprovision/", {}, format="json"))
    run = wait_for_run(api, queued["id"])
    assert run["status"] == "succeeded", run
    assert run["outputs"]["password_sha256"] == sha256(second)

    planted_secrets = [first, second, failing, token]
    from notifications.models import Delivery

    assert Delivery.objects.filter(event="run_failed", body__contains="********").exists()

    def assert_clean(text: str, where: str) -> None:
        for secret in planted_secrets:
            assert secret not in text, f"a planted secret is in {where}"

    # The database: every row of every table, as text.
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT CAST(t AS text) FROM "{table}" t')
            assert_clean("\n".join(row[0] for row in cursor.fetchall()), f"table {table}")

    # The API.
    run_ids = list(Run.objects.filter(service_id=created["id"]).values_list("pk", flat=True))
    assert len(run_ids) == 4
    audit_api = api_client_for(ops)
    paths = [
        f"/api/services/{created['id']}/",
        f"/api/services/{created['id']}/runs/",
        "/api/services/",
        *[f"/api/runs/{pk}/" for pk in run_ids],
        *[f"/api/runs/{pk}/events/" for pk in run_ids],
    ]
    for path in paths:
        answers.append(api.get(path).content.decode())
    for path in ["/api/audit/", "/api/audit/export/?as=jsonl", "/api/audit/export/?as=csv"]:
        response = audit_api.get(path)
        assert response.status_code == 200
        answers.append(response.getvalue().decode())
    assert_clean("\n".join(answers), "the API's answers")

    # The portal.
    client.force_login(ops)
    pages = [
        f"/services/{created['id']}/",
        "/services/",
        "/audit/",
        *[f"/runs/{pk}/" for pk in run_ids],
        *[f"/runs/{pk}/log/" for pk in run_ids],
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_clean(response.content.decode(), f"the page {path}")
    timeline = client.get(pages[0]).content.decode()
    assert timeline.count('data-changed="password"') == 2  # the updates, one failed

    # The logs: the worker's and this process's.
    assert_clean(Path(worker["log"]).read_text(errors="replace"), "the worker's log")
    assert_clean(caplog.text, "this process's log")

    # The files: nothing left of the runs' private data dirs, nothing holding a secret.
    assert set(settings.RUNS_DIR.iterdir()) - runs_before == set()
    for root in {Path(settings.DATA_DIR), Path(settings.RUNS_DIR), Path.home() / ".ansible"}:
        for path in (p for p in root.rglob("*") if p.is_file()):
            assert_clean(path.read_bytes().decode(errors="replace"), f"the file {path}")
