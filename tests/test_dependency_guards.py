"""What keeps the graph of services that use services sound while things happen at once: a
cascade neither gains users nor runs meanwhile, a change of outputs is not forgotten by a run
that used the old ones, an action is not queued on a service gone meanwhile, a lost cascade
step is picked up again, and no service comes to use itself."""

from datetime import timedelta

import pytest
from django.utils import timezone
from test_dependencies import consumer, provider

from conftest import api_client_for
from core.errors import Conflict, InvalidRequest
from factories import make_service
from provisioning import cascade, choices, graph, operations, runner
from provisioning.execution import finish_run
from provisioning.models import Run, Service, ServiceDependency
from provisioning.queueing import queue_run
from provisioning.services import request_service, update_service

pytestmark = pytest.mark.django_db


def sent_tasks(callbacks) -> list[tuple]:
    """The tasks that core.dispatch.send_on_commit would send: (name, *args) of each."""
    sent = []
    for callback in callbacks:
        cells = dict(zip(callback.__code__.co_freevars, callback.__closure__ or (), strict=True))
        if "task_name" in cells:
            sent.append((cells["task_name"].cell_contents, *cells["args"].cell_contents))
    return sent


def succeed(run: Run, **outputs) -> None:
    """The worker's end of `run`: started now, succeeded with `outputs`."""
    Run.objects.filter(pk=run.pk).update(status="running", started_at=timezone.now())
    run = Run.objects.select_related("service__team", "template_version").get(pk=run.pk)
    assert finish_run(run=run, result=runner.PlaybookResult("successful", 0, outputs=outputs))


def test_a_service_waiting_in_a_cascade_is_neither_offered_nor_accepted_nor_run(
    catalog, teams, owner
):
    db = provider(catalog, teams["alpha"], "orders-db")
    app = consumer(catalog, teams["alpha"], "app", db)
    cascade.deprovision(user=owner, service=db, confirm="orders-db", cascade=True)
    schema = catalog["consumer"].current_version.inputs_schema

    offered = choices.choices_for(schema=schema, user=owner, team=teams["alpha"], values={})
    kept = choices.choices_for(schema=schema, user=owner, team=None, values={}, service=app)
    with pytest.raises(InvalidRequest) as refused:
        request_service(user=owner, template=catalog["consumer"], team=teams["alpha"],
                        name="late", inputs={"database": str(db.pk), "label": "x"})  # fmt: skip
    db.refresh_from_db()
    with pytest.raises(Conflict, match="orders-db is waiting to be deprovisioned"):
        update_service(user=owner, service=db, inputs={"db_name": "other"})

    assert not offered["database"].values and not kept["database"].values
    assert "database" in refused.value.errors["inputs"]
    assert not Service.objects.filter(name="late").exists()


def test_a_cascade_still_queues_its_own_deprovisions_once_the_users_are_gone(catalog, teams, owner):
    db = provider(catalog, teams["alpha"], "orders-db")
    app = consumer(catalog, teams["alpha"], "app", db)
    first = cascade.deprovision(user=owner, service=db, confirm="orders-db", cascade=True)

    succeed(first)
    (run,) = cascade.continue_cascade(service_id=app.pk)

    assert (run.service, run.action, run.trigger) == (db, "deprovision", "cascade")
    assert run.created_by == owner


def test_a_cascade_does_not_start_while_a_service_it_waits_for_has_a_run_in_progress(
    catalog, teams, owner
):
    root = provider(catalog, teams["alpha"], "root")
    middle = provider(catalog, teams["alpha"], "middle")
    ServiceDependency.objects.create(service=middle, uses=root, input="upstream")
    consumer(catalog, teams["alpha"], "leaf", middle)
    queue_run(service=middle, action="drift_check", user=None, inputs=middle.inputs)

    with pytest.raises(Conflict, match="alpha/middle has a run in progress"):
        cascade.deprovision(user=owner, service=root, confirm="root", cascade=True)

    assert not Service.objects.filter(deprovision_pending=True).exists()
    assert not Run.objects.filter(action="deprovision").exists()


def test_a_change_of_outputs_during_a_run_is_not_forgotten_when_the_run_succeeds(
    catalog, teams, django_capture_on_commit_callbacks
):
    db = provider(catalog, teams["alpha"], "orders-db")
    app = consumer(catalog, teams["alpha"], "app", db, template="consumer-auto")
    earlier = consumer(catalog, teams["alpha"], "earlier", db, template="consumer-auto")
    Service.objects.filter(pk=earlier.pk).update(
        dependency_changed=True, dependency_changed_at=timezone.now() - timedelta(hours=1)
    )
    update = queue_run(service=app, action="update", user=None, inputs=app.inputs)
    Run.objects.filter(pk=update.pk).update(
        status="running", started_at=timezone.now() - timedelta(minutes=1)
    )
    before_earlier = queue_run(service=earlier, action="update", user=None, inputs=earlier.inputs)
    graph.outputs_changed(service=db, before=db.outputs, after={"dsn": "postgres://new/"})

    with django_capture_on_commit_callbacks() as callbacks:
        run = Run.objects.select_related("service__team", "template_version").get(pk=update.pk)
        finish_run(run=run, result=runner.PlaybookResult("successful", 0))
        Run.objects.filter(pk=before_earlier.pk).update(started_at=timezone.now())
        run = Run.objects.select_related("service__team", "template_version").get(
            pk=before_earlier.pk
        )
        Run.objects.filter(pk=run.pk).update(status="running")
        finish_run(run=run, result=runner.PlaybookResult("successful", 0))

    app.refresh_from_db()
    earlier.refresh_from_db()
    assert app.dependency_changed  # its run read the old outputs
    assert not earlier.dependency_changed  # its run started after the change
    assert sent_tasks(callbacks).count((graph.UPDATE_FOR_DEPENDENCY, app.pk)) == 1
    assert (graph.UPDATE_FOR_DEPENDENCY, earlier.pk) not in sent_tasks(callbacks)


def test_an_action_is_not_queued_on_a_service_deprovisioned_since_it_was_read(
    catalog, teams, owner
):
    service = make_service(template=catalog["operable"], team=teams["alpha"], name="box")
    Service.objects.filter(pk=service.pk).update(status="deprovisioned")

    with pytest.raises(Conflict, match="box is deprovisioned"):
        operations.run_action(user=owner, service=service, name="note", inputs={"text": "hi"})

    assert not Run.objects.filter(service=service, action="note").exists()


def test_a_lost_cascade_step_is_taken_by_the_sweep(catalog, teams, owner):
    root = provider(catalog, teams["alpha"], "root")
    middle = provider(catalog, teams["alpha"], "middle")
    ServiceDependency.objects.create(service=middle, uses=root, input="upstream")
    leaf = consumer(catalog, teams["alpha"], "leaf", middle)
    first = cascade.deprovision(user=owner, service=root, confirm="root", cascade=True)

    assert cascade.resume_lost() == []  # the leaf's run is in progress: nothing to do yet
    succeed(first)  # its continue_cascade is never delivered
    (run,) = cascade.resume_lost()

    assert (run.service, run.action, run.trigger) == (middle, "deprovision", "cascade")
    assert cascade.resume_lost() == []  # the root waits for the middle
    leaf.refresh_from_db()
    assert leaf.status == "deprovisioned"


def test_an_update_may_not_pick_a_service_that_uses_it_directly_or_not(catalog, teams, owner):
    root = provider(catalog, teams["alpha"], "root")
    middle = provider(catalog, teams["alpha"], "middle")
    top = provider(catalog, teams["alpha"], "top")
    ServiceDependency.objects.create(service=middle, uses=root, input="upstream")
    ServiceDependency.objects.create(service=top, uses=middle, input="upstream")

    for picked in (top, root):
        with pytest.raises(InvalidRequest) as refused:
            update_service(
                user=owner, service=root, inputs={"db_name": "root", "upstream": str(picked.pk)}
            )
        assert "uses root, directly or not" in str(refused.value.errors["inputs"]["upstream"])
    update_service(user=owner, service=top, inputs={"db_name": "top", "upstream": str(root.pk)})


def test_a_service_waiting_in_a_cascade_offers_no_action(catalog, teams, owner, client):
    service = make_service(template=catalog["operable"], team=teams["alpha"], name="box")
    Service.objects.filter(pk=service.pk).update(deprovision_pending=True)

    answer = api_client_for(owner).get(f"/api/services/{service.pk}/").json()
    client.force_login(owner)
    page = client.get(f"/services/{service.pk}/").content.decode()

    assert answer["actions"] == []
    assert "/actions/note/" not in page and f"/services/{service.pk}/update/" not in page
