"""Rows for tests that need services and runs without running anything."""

from catalog.models import Template, TemplateVersion
from provisioning.models import Run, RunEvent, Service
from teams.models import Team


def make_service(
    *, template: Template, team: Team, name: str, user=None, status="active"
) -> Service:
    service = Service.objects.create(
        name=name,
        team=team,
        template=template,
        template_version=template.current_version,
        inputs={"message": name},
        outputs={"echo": name},
        status=status,
        created_by=user,
    )
    run = Run.objects.create(
        service=service,
        action="provision",
        status="succeeded" if status == "active" else "failed",
        template_version=template.current_version,
        inputs=service.inputs,
        created_by=user,
    )
    Service.objects.filter(pk=service.pk).update(last_run=run)
    service.last_run = run
    return service


def make_events(run: Run, count: int, *, start: int = 1) -> None:
    from django.utils import timezone

    RunEvent.objects.bulk_create(
        RunEvent(
            run=run, counter=n, event="runner_on_ok", stdout=f"line {n}", created_at=timezone.now()
        )
        for n in range(start, start + count)
    )


def newer_version(template: Template) -> TemplateVersion:
    """A version 9.0.0 of `template`, made current: its services have an upgrade available."""
    current = template.current_version
    version = TemplateVersion.objects.create(
        template=template,
        version="9.0.0",
        digest="newer",
        files=current.files,
        manifest={**current.manifest, "version": "9.0.0"},
    )
    Template.objects.filter(pk=template.pk).update(current_version=version)
    return version
