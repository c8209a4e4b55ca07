"""The credentials' pages and the command that makes shared-postgres for `make run`."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from querycounts import budget

from core.secrets import PLACEHOLDER
from credentials import selectors, services
from credentials.models import Credential

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in_user(ops):
    return ops


def test_it_creates_env_variables_from_lines_with_plain_ones_shown(signed_in):
    response = signed_in.post(
        "/credentials/new/?type=env",
        {
            "type": "env",
            "name": "pg",
            "variables": "PGHOST=db.internal\nPGPASSWORD=pw-secret-1\n",
            "plain_variables": "PGHOST",
        },
    )

    assert response.status_code == 302
    credential = Credential.objects.get(name="pg")
    assert selectors.fields_of(credential) == {"PGHOST": "db.internal", "PGPASSWORD": PLACEHOLDER}
    edit = signed_in.get(f"/credentials/{credential.pk}/").content.decode()
    assert "PGHOST=db.internal\nPGPASSWORD=</textarea>" in edit
    assert "pw-secret-1" not in edit


def test_it_shows_a_refused_variable_on_the_form(signed_in):
    response = signed_in.post(
        "/credentials/new/", {"type": "env", "name": "e", "variables": "PATH=/evil"}
    )

    assert response.status_code == 400
    assert "PATH: PATH is set by the sandbox itself" in response.content.decode()
    assert not Credential.objects.exists()


def test_a_blank_secret_keeps_the_stored_value(signed_in, ops):
    credential = services.create_credential(
        user=ops, name="ci", type="password", fields={"username": "a", "password": "kept-pw"}
    )

    response = signed_in.post(
        f"/credentials/{credential.pk}/", {"username": "b", "password": "", "description": "x"}
    )

    assert response.status_code == 302
    assert selectors.injection_for(names=["ci"]).env == {
        "CI_USERNAME": "b",
        "CI_PASSWORD": "kept-pw",
    }


def test_it_refuses_to_delete_a_credential_in_use_on_the_form(signed_in, catalog):
    credential = Credential.objects.get(name="shared-postgres")

    page = signed_in.get(f"/credentials/{credential.pk}/delete/").content.decode()
    response = signed_in.post(f"/credentials/{credential.pk}/delete/")

    assert "postgres-database" in page
    assert response.status_code == 409
    assert "is used by the templates postgres-database" in response.content.decode()
    assert Credential.objects.filter(pk=credential.pk).exists()


def test_it_deletes_an_unused_credential_after_confirmation(signed_in, ops):
    credential = services.create_credential(
        user=ops, name="old", type="token", fields={"token": "t"}
    )

    assert signed_in.post(f"/credentials/{credential.pk}/delete/").status_code == 302
    assert not Credential.objects.exists()


def test_the_credentials_page_costs_a_constant_number_of_queries(signed_in, ops):
    def count(total: int) -> int:
        for i in range(Credential.objects.count(), total):
            services.create_credential(
                user=ops, name=f"tok-{i}", type="token", fields={"token": f"t{i}"}
            )
        with CaptureQueriesContext(connection) as queries:
            assert signed_in.get("/credentials/").status_code == 200
        return len(queries)

    assert count(2) == count(12) <= budget("/credentials/")


def test_the_template_page_names_its_credentials(client, owner, catalog):
    client.force_login(owner)

    page = client.get("/catalog/postgres-database/").content.decode()

    assert "<code>shared-postgres</code>" in page


def test_the_command_makes_shared_postgres_from_a_server_that_answers(monkeypatch, capsys):
    db = connection.settings_dict
    url = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    monkeypatch.setenv("GANGPLANK_POSTGRES_URL", url)

    call_command("create_local_credentials")
    call_command("create_local_credentials")  # again: updated, not doubled

    out = capsys.readouterr().out
    assert "Credential shared-postgres created" in out and "shared-postgres updated" in out
    credential = Credential.objects.get(name="shared-postgres")
    assert selectors.fields_of(credential) == {
        "PGDATABASE": "postgres",
        "PGHOST": db["HOST"] or "127.0.0.1",
        "PGPORT": str(db["PORT"] or 5432),
        "PGUSER": db["USER"],
    }


def test_the_command_says_the_template_waits_when_no_server_answers(monkeypatch, capsys):
    monkeypatch.setenv("GANGPLANK_POSTGRES_URL", "postgresql://postgres@127.0.0.1:9/postgres")

    call_command("create_local_credentials")

    assert "stays unavailable until a platform engineer" in capsys.readouterr().out
    assert not Credential.objects.exists()
