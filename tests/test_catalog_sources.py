"""Catalogue sources at /api/catalog/sources/: platform engineers' alone, validated in one
place, the webhook secret answered once and stored encrypted, deleted sources' templates
retired, promotion audited and reading nothing again."""

import pytest
from django.db import connection

from audit.models import AuditEvent
from catalog import sources as services
from catalog.models import CatalogSource, Template, TemplateVersion
from conftest import api_client_for
from core import secrets
from core.masking import MASK
from credentials.services import create_credential
from testkit import wait_for

pytestmark = pytest.mark.django_db

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGjGMCI8ScN3iZeeEUTuMpBv4TK7r2f2MAT1IzOK/AFF"
SHA = "0123456789abcdef0123456789abcdef01234567"
URL = "/api/catalog/sources/"


@pytest.fixture
def pe(ops):
    return api_client_for(ops)


def make(ops, **fields):
    values = {"name": "platform", "url": "https://git.example.com/ops/catalog.git"}
    return services.create_source(user=ops, **{**values, **fields})[0]


def with_template(source, slug="from-git", commit=SHA):
    template = Template.objects.create(slug=slug, name=slug.title(), source=source)
    version = TemplateVersion.objects.create(
        template=template, version="1.0.0", digest="d", files={},
        manifest={"name": slug, "inputs": {}, "playbooks": {}},
        source=source, commit=commit, commit_author="Ada <ada@example.com>", path=slug,
    )  # fmt: skip
    Template.objects.filter(pk=template.pk).update(current_version=version)
    return template


# --- who may --------------------------------------------------------------------------


def test_it_lets_only_platform_engineers_manage_sources(ops, owner, team_admin, outsider, auditor):
    source = make(ops)
    for user in (owner, team_admin, outsider, auditor):
        client = api_client_for(user)
        assert client.get(URL).status_code == 403
        assert client.get(f"{URL}{source.pk}/").status_code == 403
        assert (
            client.post(URL, {"name": "x", "url": "https://h/x"}, format="json").status_code == 403
        )
        assert client.post(f"{URL}{source.pk}/sync/", {}, format="json").status_code == 403
        assert client.delete(f"{URL}{source.pk}/").status_code == 403
    assert CatalogSource.objects.count() == 1


def test_it_refuses_callers_without_credentials(ops):
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code == 401


# --- create, read, update, delete -------------------------------------------------------


def test_it_creates_a_source_and_answers_its_secret_once(pe, ops, teams):
    token = create_credential(user=ops, name="git-token", type="token", fields={"token": "t"})

    response = pe.post(
        URL,
        {"name": "platform", "url": "https://git.example.com/ops/catalog.git", "branch": "prod",
         "path": "templates/", "credential": token.name, "preview": True, "teams": ["alpha"]},
        format="json",
    )  # fmt: skip

    assert response.status_code == 201, response.json()
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    secret = body["secret"]
    assert len(secret) >= 32
    assert body["path"] == "templates" and body["branch"] == "prod"
    assert body["credential"] == "git-token" and body["teams"] == ["alpha"]
    assert body["webhook_url"].endswith(f"/api/catalog/sources/{body['id']}/webhook/")
    assert body["webhook_url"].startswith("http")
    assert body["templates"] == 0 and body["kind"] == "git"
    shown = pe.get(f"{URL}{body['id']}/").json()
    assert "secret" not in shown and secret not in str(pe.get(URL).json())
    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_secret FROM catalog_catalogsource")
        (raw,) = cursor.fetchone()
    assert secret not in raw
    assert secrets.decrypt(token=raw) == {"secret": secret}
    event = AuditEvent.objects.get(action="catalog.source_created")
    assert event.changes["webhook_secret"] == [None, MASK]
    assert secret not in str(event.changes)


def test_it_keeps_a_secret_given_at_creation(pe):
    given = "a-shared-secret-of-enough-length"
    response = pe.post(
        URL, {"name": "mine", "url": "git@example.com:ops/c.git", "secret": given}, format="json"
    )

    assert response.status_code == 201 and response.json()["secret"] == given
    source = CatalogSource.objects.get(name="mine")
    assert secrets.decrypt(token=source.webhook_secret) == {"secret": given}


def test_it_updates_a_source_and_audits_the_change(pe, ops):
    source = make(ops)

    response = pe.patch(f"{URL}{source.pk}/", {"branch": "v2.0", "path": "a/b"}, format="json")

    assert response.status_code == 200, response.json()
    source.refresh_from_db()
    assert (source.branch, source.path) == ("v2.0", "a/b")
    event = AuditEvent.objects.get(action="catalog.source_updated")
    assert event.changes == {"branch": ["main", "v2.0"], "path": ["", "a/b"]}


def test_it_deletes_a_source_retiring_its_templates_and_keeping_their_provenance(pe, ops):
    source = make(ops)
    template = with_template(source)

    response = pe.delete(f"{URL}{source.pk}/")

    assert response.status_code == 204
    assert not CatalogSource.objects.exists()
    template.refresh_from_db()
    assert template.retired_at is not None
    version = template.current_version
    version.refresh_from_db()
    assert (version.commit, version.path) == (SHA, "from-git")
    assert version.commit_author == "Ada <ada@example.com>"
    event = AuditEvent.objects.get(action="catalog.source_deleted")
    assert event.changes["retired"] == [None, ["from-git"]]


def test_it_rotates_the_secret_and_answers_the_new_one_once(pe, ops):
    source = make(ops)
    old = secrets.decrypt(token=source.webhook_secret)["secret"]

    response = pe.post(f"{URL}{source.pk}/rotate-secret/", {}, format="json")

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new = response.json()["secret"]
    assert new != old
    source.refresh_from_db()
    assert secrets.decrypt(token=source.webhook_secret) == {"secret": new}
    event = AuditEvent.objects.get(action="catalog.source_secret_rotated")
    assert event.changes == {"webhook_secret": [MASK, MASK]}


def test_it_refuses_a_secret_in_an_update_and_points_to_rotation(pe, ops):
    source = make(ops)
    before = source.webhook_secret

    response = pe.patch(f"{URL}{source.pk}/", {"secret": "x" * 40}, format="json")

    assert response.status_code == 400
    assert "rotate-secret" in response.json()["secret"][0]
    source.refresh_from_db()
    assert source.webhook_secret == before


def test_it_lists_sources_with_their_template_counts(pe, ops):
    source = make(ops)
    with_template(source, "one")
    with_template(source, "two")
    make(ops, name="other")

    listed = pe.get(URL).json()
    rows = listed["results"] if isinstance(listed, dict) else listed

    assert [(row["name"], row["templates"]) for row in rows] == [("other", 0), ("platform", 2)]


# --- bad input --------------------------------------------------------------------------

BAD = [
    ({"url": "ext::sh -c touch% /tmp/pwned"}, "url"),
    ({"url": "ext::sh"}, "url"),
    ({"url": "-uhttps://x/y"}, "url"),
    ({"url": "https://user:hunter2@git.example.com/r.git"}, "url"),
    ({"url": "https://git.example.com/a b.git"}, "url"),
    ({"url": "ftp://git.example.com/r.git"}, "url"),
    ({"url": "/srv/git/catalog"}, "url"),
    ({"url": "file://otherhost/srv/x"}, "url"),
    ({"branch": "-f"}, "branch"),
    ({"branch": "a..b"}, "branch"),
    ({"branch": "feature/x.lock"}, "branch"),
    ({"branch": "has space"}, "branch"),
    ({"branch": "x@{1}"}, "branch"),
    ({"path": "/etc"}, "path"),
    ({"path": "templates/../.."}, "path"),
    ({"name": "Not A Slug"}, "name"),
    ({"host_keys": "not a key"}, "host_keys"),
    ({"teams": ["alpha"]}, "teams"),  # teams without preview
    ({"teams": ["nope"], "preview": True}, "teams"),
    ({"credential": "nope"}, "credential"),
    ({"kind": "folder"}, "kind"),
    ({"secret": "short"}, "secret"),
    ({"url": 7}, "url"),
    ({"url": "https://ghp_token123456@github.com/org/repo.git"}, "url"),
    ({"url": "ssh://-oProxyCommand=x@host/repo"}, "url"),
    ({"url": "file:///etc/../root/repo"}, "url"),
    ({"path": "x\ny"}, "path"),
]


@pytest.mark.parametrize(("change", "field"), BAD)
def test_it_refuses_bad_input_with_the_field_named(pe, teams, change, field):
    body = {"name": "bad", "url": "https://git.example.com/r.git", **change}

    response = pe.post(URL, body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not CatalogSource.objects.exists()


def test_it_accepts_every_supported_kind_of_url(pe):
    urls = [
        "https://git.example.com/r.git", "http://git.internal/r.git",
        "ssh://git@git.example.com:2222/r.git", "git@git.example.com:ops/r.git",
        "git://git.example.com/r.git", "file:///srv/git/r.git",
    ]  # fmt: skip
    for number, url in enumerate(urls):
        response = pe.post(URL, {"name": f"ok-{number}", "url": url}, format="json")
        assert response.status_code == 201, (url, response.json())


def test_it_refuses_a_taken_name_and_a_credential_of_the_wrong_kind(pe, ops):
    make(ops)
    env = create_credential(user=ops, name="env", type="env", fields={"A": "b"})
    token = create_credential(user=ops, name="tok", type="token", fields={"token": "t"})

    taken = pe.post(URL, {"name": "platform", "url": "https://h/r.git"}, format="json")
    wrong_type = pe.post(
        URL, {"name": "a", "url": "https://h/r", "credential": env.name}, format="json"
    )
    token_over_ssh = pe.post(
        URL, {"name": "b", "url": "git@h:r.git", "credential": token.name}, format="json"
    )

    assert "already exists" in taken.json()["name"][0]
    assert wrong_type.status_code == 400 and "credential" in wrong_type.json()
    assert token_over_ssh.status_code == 400 and "credential" in token_over_ssh.json()


def test_it_refuses_a_token_or_password_over_plain_http_but_to_this_machine(pe, ops):
    token = create_credential(user=ops, name="tok", type="token", fields={"token": "t"})
    password = create_credential(
        user=ops, name="pw", type="password", fields={"username": "u", "password": "p"}
    )
    refused = {
        (credential.name, url): pe.post(
            URL, {"name": f"r-{n}", "url": url, "credential": credential.name}, format="json"
        )
        for n, (credential, url) in enumerate(
            (c, u)
            for c in (token, password)
            for u in ("http://git.internal/r.git", "git://git.example.com/r.git")
        )
    }
    accepted = [
        pe.post(URL, {"name": f"a-{n}", "url": url, "credential": "tok"}, format="json")
        for n, url in enumerate(
            ("https://git.example.com/r.git", "http://127.0.0.1:8080/r.git",
             "http://localhost/r.git", "http://[::1]/r.git")
        )
    ]  # fmt: skip
    source = CatalogSource.objects.get(name="a-0")
    switched = pe.patch(f"{URL}{source.pk}/", {"url": "http://git.internal/r.git"}, format="json")

    for answer in (*refused.values(), switched):
        assert answer.status_code == 400, answer.json()
        assert "sent only over https://" in answer.json()["credential"][0]
    assert [answer.status_code for answer in accepted] == [201] * 4
    assert CatalogSource.objects.get(pk=source.pk).url == "https://git.example.com/r.git"


def test_it_accepts_host_keys_for_an_ssh_url_only(pe):
    ssh = pe.post(URL, {"name": "a", "url": "git@h:r.git", "host_keys": KEY}, format="json")
    https = pe.post(URL, {"name": "b", "url": "https://h/r.git", "host_keys": KEY}, format="json")

    assert ssh.status_code == 201 and ssh.json()["host_keys"] == KEY
    assert https.status_code == 400 and "host_keys" in https.json()


def test_it_shows_a_folder_source_but_refuses_to_change_its_url_or_delete_it(pe):
    # As catalog.services.local_source makes it: no branch.
    folder = CatalogSource.objects.create(
        name="local", kind="folder", url="/srv/catalog", branch=""
    )

    shown = pe.get(f"{URL}{folder.pk}/").json()
    assert shown["kind"] == "folder" and shown["webhook_url"] is None
    moved = pe.patch(f"{URL}{folder.pk}/", {"url": "/elsewhere"}, format="json")
    renamed = pe.patch(f"{URL}{folder.pk}/", {"name": "renamed", "branch": "x"}, format="json")
    rekinded = pe.patch(f"{URL}{folder.pk}/", {"kind": "git"}, format="json")
    deleted = pe.delete(f"{URL}{folder.pk}/")
    previewed = pe.patch(f"{URL}{folder.pk}/", {"preview": True}, format="json")

    assert moved.status_code == 400 and "url" in moved.json()
    assert rekinded.status_code == 400 and "kind" in rekinded.json()
    assert renamed.status_code == 400 and {"name", "branch"} <= set(renamed.json())
    assert deleted.status_code == 409
    assert previewed.status_code == 200
    folder.refresh_from_db()
    assert folder.url == "/srv/catalog" and folder.preview


# --- promotion and sync -----------------------------------------------------------------


def test_it_promotes_the_current_commit_without_reading_the_branch(pe, ops, teams):
    source = make(ops, preview=True, teams=[teams["alpha"]])
    CatalogSource.objects.filter(pk=source.pk).update(commit=SHA)

    stale = pe.post(f"{URL}{source.pk}/promote/", {"commit": "f" * 40}, format="json")
    response = pe.post(f"{URL}{source.pk}/promote/", {"commit": SHA}, format="json")
    again = pe.post(f"{URL}{source.pk}/promote/", {}, format="json")

    assert stale.status_code == 409
    assert response.status_code == 200, response.json()
    assert response.json()["preview"] is True and response.json()["promoted_at"]  # a channel
    assert again.status_code == 200  # nothing pending: promotes nothing
    source.refresh_from_db()
    assert source.commit == SHA and source.synced_at is None  # nothing was read
    event = AuditEvent.objects.filter(action="catalog.source_promoted").first()
    assert event.changes["commit"] == [None, SHA]
    assert event.actor == "ops"


def test_it_queues_a_sync_of_the_source(pe, ops, worker):
    source = make(ops)

    response = pe.post(f"{URL}{source.pk}/sync/", {"force": True}, format="json")
    bad = pe.post(f"{URL}{source.pk}/sync/", {"force": "maybe"}, format="json")

    assert response.status_code == 202
    assert bad.status_code == 400 and "force" in bad.json()
    # The worker is handed the task by its name (whether this branch's worker knows it or not).
    log = worker["log"]
    wait_for(lambda: "catalog.sync_source" in log.read_text(), what="the sync task to arrive")
    # ... and tries it (the host does not exist): ended before the tables are emptied.
    wait_for(
        lambda: CatalogSource.objects.filter(
            pk=source.pk, last_attempt_at__isnull=False, sync_started_at__isnull=True
        ).exists(),
        timeout=120,
        what="the sync to end",
    )
