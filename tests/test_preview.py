"""A preview you can act on, and a run's raw log: applying a preview (portal and API) with the
inputs it checked, each refusal, and the log as plain text. Nothing runs here: the
transaction never commits, so no run reaches a worker (tests/test_preview_runs.py runs them)."""

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from catalog.models import Template, TemplateVersion
from conftest import api_client_for
from core import secrets
from factories import make_events, make_service, newer_version
from provisioning.models import Run, Service

pytestmark = pytest.mark.django_db

SKIPPED = [
    {
        "task": "Rename the current branch",
        "host": "localhost",
        "reason": "Command would have run if not in check mode",
    }
]


@pytest.fixture
def echo(catalog, teams, owner) -> Service:
    return make_service(template=catalog["echo"], team=teams["alpha"], name="talker", user=owner)


def preview_of(service: Service, *, status="succeeded", version=None, **fields) -> Run:
    """A preview run of `service`, its latest, ended as `status`."""
    run = Run.objects.create(
        service=service,
        action="preview",
        status=status,
        template_version=version or service.template_version,
        created_by=service.created_by,
        finished_at=timezone.now() if status != "queued" else None,
        **{"inputs": {"message": "changed"}, **fields},
    )
    Service.objects.filter(pk=service.pk).update(last_run=run)
    return run


def portal(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- applying a preview -----------------------------------------------------------------------


def test_it_applies_a_preview_with_the_inputs_and_secrets_it_checked(echo, owner):
    token = secrets.encrypt(values={"message": "s3cret-value"})
    preview = preview_of(echo, inputs={"message": secrets.PLACEHOLDER}, secrets=token)

    response = api_client_for(owner).post(f"/api/runs/{preview.pk}/apply/")

    assert response.status_code == 202, response.json()
    applied = response.json()
    assert (applied["action"], applied["status"], applied["preview"]) == (
        "update",
        "queued",
        preview.pk,
    )
    assert applied["inputs"] == {"message": secrets.PLACEHOLDER}
    assert "s3cret-value" not in response.content.decode()
    run = Run.objects.get(pk=applied["id"])
    assert secrets.decrypt(token=run.secrets) == {"message": "s3cret-value"}
    assert Service.objects.get(pk=echo.pk).status == "updating"
    # Audited as an update is.
    assert AuditEvent.objects.filter(action="run.queued.update", object_id=str(run.pk)).exists()

    again = api_client_for(owner).post(f"/api/runs/{preview.pk}/apply/")
    assert again.status_code == 409
    assert "has had another run since preview" in again.json()["detail"]


def test_a_preview_of_the_upgrade_applies_the_upgrade_until_a_newer_version_comes(
    echo, owner, catalog
):
    target = newer_version(catalog["echo"])
    preview = preview_of(echo, version=target)
    api = api_client_for(owner)

    newer_version_again = TemplateVersion.objects.create(
        template=catalog["echo"],
        version="10.0.0",
        digest="digest-10",
        files=target.files,
        manifest={**target.manifest, "version": "10.0.0"},
    )
    Template.objects.filter(pk=catalog["echo"].pk).update(current_version=newer_version_again)
    refused = api.post(f"/api/runs/{preview.pk}/apply/")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"The template has changed since preview {preview.pk}: preview the upgrade again."
    )

    Template.objects.filter(pk=catalog["echo"].pk).update(current_version=target)
    response = api.post(f"/api/runs/{preview.pk}/apply/")
    assert response.status_code == 202, response.json()
    assert (response.json()["action"], response.json()["template_version"]) == ("upgrade", "9.0.0")


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        ("queued", "has not finished yet"),
        ("failed", "did not succeed"),
        ("canceled", "did not succeed"),
    ],
)
def test_only_a_succeeded_preview_is_applied(echo, owner, status, refusal):
    preview = preview_of(echo, status=status)

    response = api_client_for(owner).post(f"/api/runs/{preview.pk}/apply/")

    assert response.status_code == 409
    assert refusal in response.json()["detail"]
    assert Run.objects.filter(service=echo).count() == 2


def test_a_run_that_is_not_a_preview_is_not_applied(echo, owner):
    response = api_client_for(owner).post(f"/api/runs/{echo.last_run_id}/apply/")

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Run {echo.last_run_id} is not a preview; only a preview is applied."
    )


def test_who_may_not_change_the_service_cannot_apply_its_preview(echo, auditor, outsider):
    preview = preview_of(echo)

    assert api_client_for(auditor).post(f"/api/runs/{preview.pk}/apply/").status_code == 403
    assert api_client_for(outsider).post(f"/api/runs/{preview.pk}/apply/").status_code == 404
    assert portal(auditor).post(f"/runs/{preview.pk}/apply/").status_code == 403
    assert portal(outsider).post(f"/runs/{preview.pk}/apply/").status_code == 404
    assert Run.objects.filter(service=echo).count() == 2


def test_the_preview_page_says_what_it_could_not_predict_and_applies_it(echo, member):
    preview = preview_of(echo, skipped_tasks=SKIPPED)
    client = portal(member)

    html = client.get(f"/runs/{preview.pk}/").content.decode()
    assert 'id="unpredicted"' in html and "Could not be predicted" in html
    assert 'data-task="Rename the current branch"' in html
    assert "Command would have run if not in check mode" in html
    assert f'action="/runs/{preview.pk}/apply/"' in html and "Apply these changes" in html

    response = client.post(f"/runs/{preview.pk}/apply/")

    applied = Run.objects.get(preview=preview)
    assert response.status_code == 302 and response.url == f"/runs/{applied.pk}/"
    assert (applied.action, applied.inputs) == ("update", preview.inputs)
    html = client.get(response.url).content.decode()
    assert f"Update queued: run {applied.pk}." in html
    assert f'applies preview <a href="/runs/{preview.pk}/">#{preview.pk}</a>' in html
    # Applied (or overtaken by any other run), the preview offers nothing more.
    assert "Apply these changes" not in client.get(f"/runs/{preview.pk}/").content.decode()
    refused = client.post(f"/runs/{preview.pk}/apply/", follow=True)
    assert "has had another run since preview" in refused.content.decode()


def test_a_failed_preview_offers_no_apply(echo, member):
    preview = preview_of(echo, status="failed")

    html = portal(member).get(f"/runs/{preview.pk}/").content.decode()

    assert "Apply these changes" not in html and 'id="unpredicted"' not in html


# --- the raw log ------------------------------------------------------------------------------


def test_the_raw_log_is_plain_text_to_read_or_download(echo, member, outsider):
    run = echo.last_run
    make_events(run, 2)
    run.events.create(
        counter=3,
        event="runner_on_ok",
        stdout="\x1b[0;32mok: [localhost] => ********\x1b[0m\r\n\x1b[0;32m}\x1b[0m",
        created_at=timezone.now(),
    )
    run.events.create(counter=4, event="runner_on_start", stdout="", created_at=timezone.now())
    expected = "line 1\nline 2\nok: [localhost] => ********\n}\n"
    client = portal(member)

    shown = client.get(f"/runs/{run.pk}/log.txt")
    assert shown.status_code == 200
    assert shown["Content-Type"] == "text/plain; charset=utf-8"
    assert "Content-Disposition" not in shown
    assert shown.content.decode() == expected

    saved = client.get(f"/runs/{run.pk}/download/")
    assert saved["Content-Disposition"] == f"attachment; filename=run-{run.pk}.log"
    assert saved.content.decode() == expected

    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert f'href="/runs/{run.pk}/log.txt"' in page and f'href="/runs/{run.pk}/download/"' in page

    api = api_client_for(member).get(f"/api/runs/{run.pk}/log/", HTTP_ACCEPT="text/plain")
    assert api.status_code == 200 and api["Content-Type"] == "text/plain; charset=utf-8"
    assert api.content.decode() == expected

    for path in (f"/runs/{run.pk}/log.txt", f"/runs/{run.pk}/download/"):
        assert portal(outsider).get(path).status_code == 404
    assert api_client_for(outsider).get(f"/api/runs/{run.pk}/log/").status_code == 404
