"""The credentials store: types, services, the API and the catalogue's links to it."""

import json
import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_ssh_private_key,
)
from django.db import connection
from django.test.utils import CaptureQueriesContext
from querycounts import budget

from audit.models import AuditEvent
from conftest import EXAMPLE_CATALOG, api_client_for
from core import secrets
from core.errors import Conflict, InvalidRequest
from core.masking import MASK
from credentials import selectors, services
from credentials.models import Credential

pytestmark = pytest.mark.django_db


def private_key(*, passphrase: str = "", fmt=PrivateFormat.OpenSSH) -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    protection = BestAvailableEncryption(passphrase.encode()) if passphrase else NoEncryption()
    return key.private_bytes(Encoding.PEM, fmt, protection).decode()


def create(user=None, **kwargs) -> Credential:
    return services.create_credential(user=user, **kwargs)


def refusal(call, **kwargs) -> dict:
    with pytest.raises(InvalidRequest) as caught:
        call(**kwargs)
    return caught.value.errors


# --- types and their injection ---------------------------------------------------------


def test_it_gives_an_ssh_credential_as_an_unencrypted_key_and_a_remote_user(ops):
    key = private_key(passphrase="open sesame")
    create(
        ops,
        name="deploy-key",
        type="ssh",
        fields={"username": "deploy", "private_key": key, "passphrase": "open sesame"},
    )

    given = selectors.injection_for(names=["deploy-key"])

    (opened,) = given.ssh_keys
    assert "OPENSSH PRIVATE KEY" in opened
    load_ssh_private_key(opened.encode(), password=None)  # no passphrase needed any more
    assert given.remote_user == "deploy"
    assert given.env == {"DEPLOY_KEY_USERNAME": "deploy"}
    assert {key, "open sesame", opened} <= set(given.secrets)


def test_it_refuses_a_key_it_cannot_open_with_a_field_error(ops):
    key = private_key(passphrase="right")
    fields = {"username": "deploy", "private_key": key}

    wrong = refusal(
        services.create_credential,
        user=ops,
        name="k",
        type="ssh",
        fields={**fields, "passphrase": "wrong"},
    )
    missing = refusal(services.create_credential, user=ops, name="k", type="ssh", fields=fields)
    garbage = refusal(
        services.create_credential,
        user=ops,
        name="k",
        type="ssh",
        fields={"username": "deploy", "private_key": "not a key"},
    )

    assert wrong == {"fields": {"passphrase": ["The passphrase does not open this key."]}}
    assert "passphrase" in missing["fields"]
    assert garbage == {"fields": {"private_key": ["Not a private key in OpenSSH or PEM format."]}}
    assert not Credential.objects.exists()


def test_it_opens_a_pem_key_with_its_passphrase_too(ops):
    key = private_key(passphrase="pem-pass", fmt=PrivateFormat.PKCS8)
    create(
        ops,
        name="pem",
        type="ssh",
        fields={"username": "root", "private_key": key, "passphrase": "pem-pass"},
    )

    (opened,) = selectors.injection_for(names=["pem"]).ssh_keys
    assert "OPENSSH PRIVATE KEY" in opened


def test_it_names_the_variables_after_the_credential(ops):
    create(ops, name="ci-login", type="password", fields={"username": "ci", "password": "s3cret"})
    create(ops, name="api-token", type="token", fields={"token": "tok-123456"})
    create(ops, name="kube-config", type="file", fields={"content": "apiVersion: v1\n"})
    create(
        ops,
        name="named-file",
        type="file",
        fields={"variable": "KUBECONFIG", "content": "clusters: []\n"},
    )
    create(
        ops,
        name="shared-things",
        type="env",
        fields={"HOST_NAME": "db.internal", "SECRET_WORD": "swordfish"},
        plain_variables=["HOST_NAME"],
    )

    given = selectors.injection_for(
        names=["ci-login", "api-token", "kube-config", "named-file", "shared-things"]
    )

    assert given.env == {
        "CI_LOGIN_USERNAME": "ci",
        "CI_LOGIN_PASSWORD": "s3cret",
        "API_TOKEN_TOKEN": "tok-123456",
        "HOST_NAME": "db.internal",
        "SECRET_WORD": "swordfish",
    }
    assert given.files == {"KUBE_CONFIG_FILE": "apiVersion: v1\n", "KUBECONFIG": "clusters: []\n"}
    assert set(given.secrets) == {
        "s3cret",
        "tok-123456",
        "apiVersion: v1\n",
        "clusters: []\n",
        "swordfish",
    }


def test_it_names_an_unknown_credential():
    with pytest.raises(selectors.UnknownCredential, match="'nowhere'"):
        selectors.injection_for(names=["nowhere"])


@pytest.mark.parametrize(
    "name", ["PATH", "HOME", "LC_ALL", "ANSIBLE_CONFIG", "PYTHONPATH", "LD_PRELOAD", "1ABC", "A-B"]
)
def test_it_refuses_variables_that_the_sandbox_owns_or_that_are_not_names(ops, name):
    errors = refusal(services.create_credential, user=ops, name="e", type="env", fields={name: "x"})

    assert list(errors["fields"]) == [name]


def test_it_refuses_more_than_fifty_variables_and_a_bad_file_variable(ops):
    many = {f"V{i}": "x" for i in range(51)}

    assert (
        ""
        in refusal(services.create_credential, user=ops, name="e", type="env", fields=many)[
            "fields"
        ]
    )
    errors = refusal(
        services.create_credential,
        user=ops,
        name="f",
        type="file",
        fields={"variable": "GANGPLANK_X", "content": "x"},
    )
    assert list(errors["fields"]) == ["variable"]


# --- services: audit, placeholders, fixed name and type, deletion --------------------


def test_it_audits_which_fields_changed_and_never_a_secret_value(ops):
    credential = create(
        ops, name="ci-login", type="password", fields={"username": "ci", "password": "first-pw"}
    )
    services.update_credential(
        user=ops, credential=credential, fields={"username": "ci2", "password": "second-pw"}
    )
    services.delete_credential(user=ops, credential=credential)

    events = list(AuditEvent.objects.filter(action__startswith="credential.").order_by("pk"))
    assert [e.action for e in events] == [
        "credential.created",
        "credential.updated",
        "credential.deleted",
    ]
    assert all(e.actor == "ops" and e.object_repr == "ci-login" for e in events)
    assert events[1].changes == {
        "password": [MASK, MASK],
        "username": ["ci", "ci2"],
    }
    trail = json.dumps([e.changes for e in events])
    assert "first-pw" not in trail and "second-pw" not in trail


def test_it_keeps_a_secret_sent_as_the_placeholder_or_blank(ops):
    credential = create(ops, name="tok", type="token", fields={"token": "keep-me"})

    services.update_credential(
        user=ops, credential=credential, fields={"token": secrets.PLACEHOLDER}
    )
    services.update_credential(
        user=ops, credential=credential, fields={"token": ""}, description="Still here"
    )

    assert selectors.injection_for(names=["tok"]).env == {"TOK_TOKEN": "keep-me"}
    assert not AuditEvent.objects.filter(
        action="credential.updated", changes__has_key="token"
    ).exists()


def test_it_refuses_to_change_the_name_or_the_type(ops):
    credential = create(ops, name="tok", type="token", fields={"token": "t"})

    errors = refusal(
        services.update_credential, user=ops, credential=credential, name="other", type="env"
    )

    assert "fixed once created" in errors["name"][0]
    assert "fixed once created" in errors["type"][0]


def test_it_refuses_to_show_a_secret_variable_without_its_value_again(ops):
    credential = create(ops, name="e", type="env", fields={"PW": "hidden-value"})

    errors = refusal(
        services.update_credential,
        user=ops,
        credential=credential,
        fields={"PW": secrets.PLACEHOLDER},
        plain_variables=["PW"],
    )

    assert "given again" in errors["fields"]["PW"][0]


def test_only_platform_engineers_manage_credentials(owner, auditor):
    from django.core.exceptions import PermissionDenied

    for user in (owner, auditor):
        with pytest.raises(PermissionDenied, match="Only platform engineers manage credentials"):
            create(user, name="tok", type="token", fields={"token": "t"})


# --- the catalogue -----------------------------------------------------------------------


def catalog_with(tmp_path, names: list[str]):
    """A catalogue holding the postgres-database template, naming `names`."""
    folder = tmp_path / "postgres-database"
    shutil.copytree(EXAMPLE_CATALOG / "postgres-database", folder)
    manifest = folder / "template.yml"
    text = manifest.read_text().replace("credentials: [shared-postgres]", "")
    manifest.write_text(text + f"credentials: {json.dumps(names)}\n")
    return tmp_path


def test_a_sync_refuses_a_template_naming_an_unknown_credential(tmp_path):
    from catalog.models import Template
    from catalog.services import sync_catalog

    report = sync_catalog(directory=catalog_with(tmp_path, ["missing-one"]))

    assert report.problems == [
        {
            "file": "postgres-database/template.yml",
            "field": "credentials",
            "message": "unknown credential 'missing-one': a platform engineer creates it "
            "under Credentials",
        }
    ]
    assert Template.objects.get(slug="postgres-database").current_version is None


def test_a_published_template_links_its_credentials_and_shows_their_names(tmp_path, ops, owner):
    from catalog.models import Template
    from catalog.services import sync_catalog

    credential = create(ops, name="shared-postgres", type="env", fields={"PGPASSWORD": "pw-x"})
    sync_catalog(directory=catalog_with(tmp_path, ["shared-postgres"]))

    template = Template.objects.get(slug="postgres-database")
    assert list(template.credentials.all()) == [credential]
    body = api_client_for(owner).get("/api/templates/postgres-database/").json()
    assert body["credentials"] == ["shared-postgres"]
    assert "pw-x" not in json.dumps(body)

    with pytest.raises(Conflict, match="postgres-database"):
        services.delete_credential(user=ops, credential=credential)
    assert Credential.objects.filter(pk=credential.pk).exists()


# --- the API -----------------------------------------------------------------------------


def test_the_api_writes_credentials_and_reads_back_no_secret(ops):
    api = api_client_for(ops)
    key = private_key()

    created = api.post(
        "/api/credentials/",
        {"name": "deploy", "type": "ssh", "fields": {"username": "root", "private_key": key}},
        format="json",
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["fields"] == {
        "username": "root",
        "private_key": secrets.PLACEHOLDER,
        "passphrase": "",
    }
    assert body["templates"] == [] and body["type"] == "ssh"
    listed = api.get("/api/credentials/").json()
    assert key not in json.dumps(listed)

    changed = api.patch(
        f"/api/credentials/{body['id']}/",
        {"description": "Deploys", "fields": {"username": "deploy"}},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["fields"]["private_key"] == secrets.PLACEHOLDER
    assert selectors.injection_for(names=["deploy"]).remote_user == "deploy"


def test_the_api_reads_env_variables_as_encrypted_unless_plain(ops):
    api = api_client_for(ops)
    body = api.post(
        "/api/credentials/",
        {
            "name": "pg",
            "type": "env",
            "fields": {"PGHOST": "db.internal", "PGPASSWORD": "pw-1"},
            "plain_variables": ["PGHOST"],
        },
        format="json",
    ).json()

    assert body["fields"] == {"PGHOST": "db.internal", "PGPASSWORD": secrets.PLACEHOLDER}
    assert body["plain_variables"] == ["PGHOST"]


def test_the_api_answers_field_errors_with_a_400(ops):
    api = api_client_for(ops)

    response = api.post(
        "/api/credentials/",
        {"name": "k", "type": "ssh", "fields": {"username": "u", "private_key": "nope"}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "fields": {"private_key": ["Not a private key in OpenSSH or PEM format."]}
    }


def test_the_api_refuses_others_with_the_reason(owner, auditor):
    for user in (owner, auditor):
        response = api_client_for(user).get("/api/credentials/")
        assert response.status_code == 403
        assert response.json()["detail"] == "Only platform engineers manage credentials."


def test_the_api_refuses_to_delete_a_credential_in_use_with_a_409(tmp_path, ops):
    from catalog.services import sync_catalog

    credential = create(ops, name="shared-postgres", type="env", fields={"PGPASSWORD": "pw-x"})
    sync_catalog(directory=catalog_with(tmp_path, ["shared-postgres"]))

    response = api_client_for(ops).delete(f"/api/credentials/{credential.pk}/")

    assert response.status_code == 409
    assert "postgres-database" in response.json()["detail"]


def test_the_credential_list_costs_a_constant_number_of_queries(ops):
    api = api_client_for(ops)

    def count(total: int) -> int:
        for i in range(Credential.objects.count(), total):
            create(ops, name=f"tok-{i}", type="token", fields={"token": f"t{i}"})
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/credentials/").status_code == 200
        return len(queries)

    assert count(2) == count(12) <= budget("/api/credentials/")
