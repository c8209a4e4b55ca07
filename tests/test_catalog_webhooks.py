"""Push to sync: a forge's webhook, checked with the source's own secret (GitHub, GitLab,
Gitea, Forgejo), has the real worker sync the source once; refusals change nothing and say
why."""

import json
import uuid

import pytest
from gitrepos import Repo

from audit.models import AuditEvent
from catalog.models import CatalogSource, CatalogSync, Template, WebhookDelivery
from catalog.webhooks import sign
from conftest import request_via_api, wait_for_run
from core.secrets import encrypt
from testkit import wait_for

SECRET = "hook-secret-0123456789"


def git_source(url: str = "file:///nowhere.git", **fields) -> CatalogSource:
    return CatalogSource.objects.create(
        name="templates", url=url, webhook_secret=encrypt(values={"secret": SECRET}), **fields
    )


def push(ref: str = "refs/heads/main", after: str = "a" * 40) -> bytes:
    return json.dumps({"ref": ref, "after": after, "repository": {"name": "x"}}).encode()


def github(body: bytes, *, secret: str = SECRET, delivery: str | None = None, event="push"):
    return {
        "HTTP_X_HUB_SIGNATURE_256": "sha256=" + sign(body=body, secret=secret),
        "HTTP_X_GITHUB_EVENT": event,
        "HTTP_X_GITHUB_DELIVERY": delivery or str(uuid.uuid4()),
    }


def deliver(client, source: CatalogSource, body: bytes, headers: dict):
    return client.post(
        f"/api/catalog/sources/{source.pk}/webhook/",
        body,
        content_type="application/json",
        **headers,
    )


@pytest.mark.django_db
def test_a_signed_push_to_the_branch_is_recorded_and_requests_one_sync(
    client, django_capture_on_commit_callbacks
):
    source = git_source()
    body = push(after="b" * 40)

    with django_capture_on_commit_callbacks() as sent:
        response = deliver(client, source, body, github(body, delivery="d-1"))

    assert response.status_code == 202, response.json()
    assert "accepted" in response.json()["detail"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.source, delivery.delivery, delivery.commit) == (source, "d-1", "b" * 40)
    assert len(sent) == 1  # catalog.sync_source, once the delivery committed


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no signature"),
        ({"HTTP_X_HUB_SIGNATURE_256": "sha256=" + "0" * 64, "HTTP_X_GITHUB_DELIVERY": "x"},
         "signature does not match"),
        ({"HTTP_X_HUB_SIGNATURE_256": "md5=abc", "HTTP_X_GITHUB_DELIVERY": "x"},
         "does not start with 'sha256='"),
        ({"HTTP_X_GITLAB_TOKEN": "wrong", "HTTP_X_GITLAB_EVENT": "Push Hook",
          "HTTP_X_GITLAB_EVENT_UUID": "x"}, "X-Gitlab-Token header does not match"),
        ({"HTTP_X_GITEA_SIGNATURE": "f" * 64, "HTTP_X_GITEA_DELIVERY": "x"},
         "signature does not match"),
    ],
)  # fmt: skip
def test_a_bad_or_missing_signature_is_refused_with_the_reason_logged_not_audited(
    client, headers, reason, django_capture_on_commit_callbacks, caplog
):
    source = git_source()

    with django_capture_on_commit_callbacks() as sent, caplog.at_level("WARNING"):
        response = deliver(client, source, push(), headers)

    assert response.status_code == 403 and reason in response.json()["detail"]
    assert not WebhookDelivery.objects.exists() and sent == []
    # Anyone may send these: an audit row each would let them flood the trail.
    assert not AuditEvent.objects.exists()
    [logged] = [r for r in caplog.records if r.name == "catalog.deliveries"]
    assert reason in logged.getMessage() and SECRET not in logged.getMessage()
    assert logged.levelname == "WARNING" and "templates" in logged.getMessage()


@pytest.mark.django_db
def test_a_delivery_to_a_folder_source_is_refused_and_not_audited(client):
    from catalog.services import local_source

    folder = local_source()
    body = push()

    response = deliver(client, folder, body, github(body))

    assert response.status_code == 404 and "folder source" in response.json()["detail"]
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_a_signature_made_with_another_sources_secret_is_refused(client):
    source = git_source()
    body = push()

    response = deliver(client, source, body, github(body, secret="another-sources-secret"))

    assert response.status_code == 403


@pytest.mark.django_db
def test_a_replayed_delivery_is_refused_and_requests_no_second_sync(
    client, django_capture_on_commit_callbacks
):
    source = git_source()
    body = push()
    headers = github(body, delivery="same-delivery")
    deliver(client, source, body, headers)

    with django_capture_on_commit_callbacks() as sent:
        response = deliver(client, source, body, headers)

    assert response.status_code == 409
    assert "delivery same-delivery was already received" in response.json()["detail"]
    assert WebhookDelivery.objects.count() == 1 and sent == []
    refusal = AuditEvent.objects.get(action="catalog.webhook_refused")  # signed: audited
    assert "already received" in str(refusal.changes)


@pytest.mark.django_db
@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_the_same_signed_push_under_another_delivery_id_is_a_replay(
    client, forge, django_capture_on_commit_callbacks
):
    # The delivery id is a header the signature does not cover (GitLab's token covers
    # nothing): whoever saw one push could send it again under a new id.
    source = git_source()
    body = push(after="c" * 40)

    def headers(delivery: str) -> dict:
        if forge == "github":
            return github(body, delivery=delivery)
        return {"HTTP_X_GITLAB_TOKEN": SECRET, "HTTP_X_GITLAB_EVENT": "Push Hook",
                "HTTP_X_GITLAB_EVENT_UUID": delivery}  # fmt: skip

    assert deliver(client, source, body, headers("first")).status_code == 202
    with django_capture_on_commit_callbacks() as sent:
        response = deliver(client, source, body, headers("second"))

    assert response.status_code == 409, response.json()
    assert response.json()["detail"] == (
        f"commit {'c' * 40} was already received (a replay); nothing done"
    )
    assert list(WebhookDelivery.objects.values_list("delivery", flat=True)) == ["first"]
    assert sent == []


@pytest.mark.django_db
def test_a_commit_received_by_one_source_may_be_pushed_to_another(client):
    body = push(after="d" * 40)
    first = git_source()
    second = CatalogSource.objects.create(
        name="mirror", url="file:///mirror.git", webhook_secret=encrypt(values={"secret": SECRET})
    )

    answers = [deliver(client, each, body, github(body)).status_code for each in (first, second)]

    assert answers == [202, 202]


@pytest.mark.django_db
def test_the_database_refuses_a_commit_twice_for_one_source():
    from django.db import IntegrityError, transaction

    source = git_source()
    WebhookDelivery.objects.create(source=source, delivery="one", commit="e" * 40)
    WebhookDelivery.objects.create(source=source, delivery="no-commit-1", commit="")
    WebhookDelivery.objects.create(source=source, delivery="no-commit-2", commit="")

    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.create(source=source, delivery="two", commit="e" * 40)


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["refs/heads/feature", "refs/tags/v1", "refs/heads/main-2"])
def test_a_push_to_another_branch_or_tag_is_ignored_and_says_so(
    client, ref, django_capture_on_commit_callbacks
):
    source = git_source()
    body = push(ref=ref)

    with django_capture_on_commit_callbacks() as sent:
        response = deliver(client, source, body, github(body))

    assert response.status_code == 200
    assert response.json()["detail"].startswith(f"ignored: a push to {ref!r}")
    assert not WebhookDelivery.objects.exists() and sent == []


@pytest.mark.django_db
def test_a_push_of_the_tag_a_source_reads_is_accepted(client):
    source = git_source(branch="v2")
    body = push(ref="refs/tags/v2")

    assert deliver(client, source, body, github(body)).status_code == 202


@pytest.mark.django_db
def test_a_ping_is_answered_kindly(client):
    source = git_source()
    body = b'{"zen": "Keep it logically awesome."}'

    response = deliver(client, source, body, github(body, event="ping"))

    assert response.status_code == 200 and response.json()["detail"].startswith("pong")
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_gitlab_sends_the_secret_as_a_token(client):
    source = git_source()
    headers = {
        "HTTP_X_GITLAB_TOKEN": SECRET,
        "HTTP_X_GITLAB_EVENT": "Push Hook",
        "HTTP_X_GITLAB_EVENT_UUID": "gl-1",
    }

    response = deliver(client, source, push(), headers)

    assert response.status_code == 202
    assert WebhookDelivery.objects.get().delivery == "gl-1"


@pytest.mark.django_db
@pytest.mark.parametrize("forge", ["GITEA", "FORGEJO"])
def test_gitea_and_forgejo_sign_the_body(client, forge):
    source = git_source()
    body = push()
    headers = {
        f"HTTP_X_{forge}_SIGNATURE": sign(body=body, secret=SECRET),
        f"HTTP_X_{forge}_DELIVERY": f"{forge}-1",
        f"HTTP_X_{forge}_EVENT": "push",
    }

    response = deliver(client, source, body, headers)

    assert response.status_code == 202
    assert WebhookDelivery.objects.get().delivery == f"{forge}-1"


@pytest.mark.django_db
def test_bad_deliveries_get_a_readable_answer_never_a_500(client):
    source = git_source()
    no_secret = CatalogSource.objects.create(name="no-secret", url="file:///x.git")
    body = push()
    unsigned_id = {**github(body), "HTTP_X_GITHUB_DELIVERY": ""}
    large = b"{" + b" " * (1024 * 1024) + b"}"

    answers = {
        "no delivery id": deliver(client, source, body, unsigned_id),
        "not JSON": deliver(client, source, b"[", github(b"[")),
        "too large": deliver(client, source, large, github(large)),
        "no secret": deliver(client, no_secret, body, github(body)),
        "no source": client.post("/api/catalog/sources/999999/webhook/", body, "application/json"),
    }

    assert {key: r.status_code for key, r in answers.items()} == {
        "no delivery id": 400, "not JSON": 400, "too large": 413, "no secret": 403,
        "no source": 404,
    }  # fmt: skip
    assert all(r.json()["detail"] for r in answers.values())
    assert not WebhookDelivery.objects.exists()


def test_it_pushes_a_new_version_and_the_worker_syncs_it_and_a_service_upgrades(
    tmp_path, worker, client, api, teams
):
    repo = Repo(tmp_path / "repo")
    repo.template("pushed")
    repo.commit("Add pushed")
    repo.push()
    source = git_source(url=repo.url)
    from catalog.sync import sync_source

    sync_source(source=source)
    service = request_via_api(api, "pushed", "from-git", {})
    assert wait_for_run(api, service["last_run"]["id"])["status"] == "succeeded"
    repo.template("pushed", "1.1.0", description="Pushed again.")
    sha = repo.commit("Bump pushed", author="Linus Torvalds <linus@example.org>")
    repo.push()
    body = push(after=sha)

    response = deliver(client, source, body, github(body, delivery="push-1"))
    replay = deliver(client, source, body, github(body, delivery="push-1"))

    assert (response.status_code, replay.status_code) == (202, 409)
    template = wait_for(
        lambda: Template.objects.filter(slug="pushed", current_version__version="1.1.0").first(),
        timeout=60,
        what="the worker to sync the pushed version",
    )
    version = template.current_version
    assert (version.commit, version.commit_author) == (sha, "Linus Torvalds <linus@example.org>")
    assert version.commit_date is not None and version.source == source
    assert wait_for(lambda: CatalogSource.objects.get(pk=source.pk).commit == sha)
    assert CatalogSync.objects.filter(source=source, commit=sha).count() == 1

    upgraded = api.post(f"/api/services/{service['id']}/upgrade/", {}, format="json")
    assert upgraded.status_code == 202, upgraded.json()
    assert wait_for_run(api, upgraded.json()["id"])["status"] == "succeeded"
    assert api.get(f"/api/services/{service['id']}/").json()["template_version"] == "1.1.0"


def test_a_force_push_delivered_to_the_worker_keeps_the_last_good_versions_and_shows_why(
    tmp_path, worker, client
):
    repo = Repo(tmp_path / "repo")
    repo.template("pushed")
    good = repo.commit("Add pushed")
    repo.push()
    source = git_source(url=repo.url)
    from catalog.sync import sync_source

    sync_source(source=source)
    repo.template("pushed", "9.0.0")
    rewritten = repo.rewrite("Rewritten")
    repo.push(force=True)
    body = push(after=rewritten)

    assert deliver(client, source, body, github(body)).status_code == 202

    error = wait_for(
        lambda: CatalogSource.objects.get(pk=source.pk).last_error,
        timeout=60,
        what="the worker to refuse the rewritten history",
    )
    assert f"history was rewritten: {good} is not an ancestor of {rewritten}" in error
    assert Template.objects.get(slug="pushed").current_version.version == "1.0.0"


def test_a_sync_requested_while_another_runs_runs_after_it(tmp_path, worker):
    from pathlib import Path

    from django.utils import timezone

    from catalog.sync import request_sync

    repo = Repo(tmp_path / "repo")
    repo.template("later")
    repo.commit("Add later")
    repo.push()
    source = git_source(url=repo.url)
    CatalogSource.objects.filter(pk=source.pk).update(sync_started_at=timezone.now())
    log = Path(worker["log"])
    retries = log.read_text(errors="replace").count("retry: Retry in")

    request_sync(source=source)

    wait_for(
        lambda: log.read_text(errors="replace").count("retry: Retry in") > retries,
        timeout=60,
        what="the worker to find the source busy and try again later",
    )
    assert not Template.objects.filter(slug="later").exists()
    CatalogSource.objects.filter(pk=source.pk).update(sync_started_at=None)
    wait_for(
        lambda: Template.objects.filter(slug="later").exists(),
        timeout=60,
        what="the sync to run once the other one ended",
    )


@pytest.mark.django_db
def test_the_upgrade_keeps_the_first_delivery_of_a_commit_and_blanks_the_replays():
    import importlib

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("catalog.migrations.0005_webhookdelivery_unique_commit")
    [constraint] = [
        c for c in WebhookDelivery._meta.constraints if c.name == "webhookdelivery_unique_commit"
    ]
    source = git_source()
    with connection.schema_editor() as editor:  # as before 0005 (rolled back with the test)
        editor.remove_constraint(WebhookDelivery, constraint)
    for delivery, commit in (("first", "f" * 40), ("replay", "f" * 40), ("other", "0" * 40)):
        WebhookDelivery.objects.create(source=source, delivery=delivery, commit=commit)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as rows committed before migrating

    migration.blank_repeated_commits(apps, None)
    with connection.schema_editor() as editor:
        editor.add_constraint(WebhookDelivery, constraint)

    assert dict(WebhookDelivery.objects.values_list("delivery", "commit")) == {
        "first": "f" * 40, "replay": "", "other": "0" * 40,
    }  # fmt: skip
