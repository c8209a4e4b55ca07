"""A run seen live, server side: its status fragment (badge, elapsed time, progress) and the
events that make the page re-fetch what changed, what the log says before its first line,
and the last run's log kept reachable from the service page. The browser side is
tests/test_browser_live.py."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from factories import make_events, make_service
from provisioning.models import Run, RunEvent
from provisioning.selectors import run_progress
from provisioning.states import RunStatus

pytestmark = pytest.mark.django_db


def task_start(run: Run, counter: int, task: str) -> None:
    RunEvent.objects.create(
        run=run,
        counter=counter,
        event="playbook_on_task_start",
        task=task,
        stdout=f"TASK [{task}] ***",
        created_at=timezone.now(),
    )


@pytest.fixture
def running(catalog, teams, owner) -> Run:
    """A run on a worker for 12 s, two tasks started (the second one twice, as a loop's
    include does), with a line of output after each."""
    service = make_service(template=catalog["echo"], team=teams["alpha"], name="live", user=owner)
    run = service.last_run
    run.status, run.started_at = RunStatus.RUNNING, timezone.now() - timedelta(seconds=12)
    run.save()
    task_start(run, 1, "Print the message")
    make_events(run, 1, start=2)
    task_start(run, 3, "Wait one second")
    task_start(run, 4, "Wait one second")
    make_events(run, 1, start=5)
    return run


def set_status(run: Run, status: str) -> None:
    Run.objects.filter(pk=run.pk).update(status=status)


def triggered(response) -> dict:
    return json.loads(response.get("HX-Trigger", "{}"))


def test_it_counts_the_tasks_started_and_names_the_latest_in_one_query(
    running, django_assert_num_queries
):
    with django_assert_num_queries(1):
        progress = run_progress(run=running)

    assert (progress.tasks, progress.current_task) == (3, "Wait one second")


def test_a_run_without_a_task_yet_has_no_progress(running):
    RunEvent.objects.filter(run=running).delete()

    assert (run_progress(run=running).tasks, run_progress(run=running).current_task) == (0, "")


def test_the_status_fragment_shows_a_running_run_and_polls_itself(signed_in, running):
    response = signed_in.get(f"/runs/{running.pk}/status/", {"seen": "running"})
    html = response.content.decode()

    assert 'data-status="running"' in html and "data-spinner" in html
    assert f'hx-get="/runs/{running.pk}/status/?seen=running"' in html
    assert 'hx-trigger="every 1s"' in html
    assert re.search(r"data-elapsed>running for 1[2-9] s<", html)
    assert 'data-tasks="3">' in html and "3 tasks, now" in html
    assert "data-current-task>Wait one second<" in html
    assert "HX-Trigger" not in response  # the page shows this status already


def test_the_status_fragment_tells_the_page_when_the_status_moved(signed_in, running):
    response = signed_in.get(f"/runs/{running.pk}/status/", {"seen": "queued"})

    assert triggered(response) == {"run-changed": {"status": "running"}}


def test_the_status_fragment_of_an_ended_run_stops_polling_and_says_so(signed_in, running):
    Run.objects.filter(pk=running.pk).update(
        status=RunStatus.SUCCEEDED, finished_at=running.started_at + timedelta(seconds=4.25)
    )

    response = signed_in.get(f"/runs/{running.pk}/status/", {"seen": "running"})
    html = response.content.decode()

    assert triggered(response) == {
        "run-changed": {"status": "succeeded"},
        "run-ended": {"status": "succeeded"},
    }
    assert 'data-status="succeeded"' in html and "took 4.2 s" in html
    assert "hx-get" not in html and "data-spinner" not in html
    assert "data-current-task" not in html and 'data-tasks="3">' in html and "3 tasks<" in html


@pytest.mark.parametrize(
    ("status", "waits_for", "says"),
    [
        (RunStatus.AWAITING_APPROVAL, "approval", "Waiting for an approval"),
        (RunStatus.QUEUED, "worker", "Waiting for a worker"),
        (RunStatus.RUNNING, "playbook", "Starting the playbook"),
    ],
)
def test_the_log_says_what_the_run_waits_for_before_its_first_line(
    signed_in, running, status, waits_for, says
):
    RunEvent.objects.filter(run=running).delete()
    set_status(running, status)

    for url in (f"/runs/{running.pk}/", f"/services/{running.service_id}/"):
        html = signed_in.get(url).content.decode()
        waiting = re.findall(r'id="run-log-waiting" data-waiting="(\w+)">([^<]*)<', html)
        assert [(kind, text.startswith(says)) for kind, text in waiting] == [(waits_for, True)]
    # The page fetches it again when the status moves: the log's polls leave it alone.
    log = signed_in.get(f"/runs/{running.pk}/log/", {"after": 0}).content.decode()
    assert "data-waiting" not in log and "log-poller" in log


def test_the_log_of_a_run_that_ended_without_a_line_says_so(signed_in, running):
    RunEvent.objects.filter(run=running).delete()
    set_status(running, RunStatus.CANCELED)

    for html in (
        signed_in.get(f"/runs/{running.pk}/").content.decode(),
        signed_in.get(f"/runs/{running.pk}/log/", {"after": 0}).content.decode(),
    ):
        assert re.findall(r'data-waiting="(\w+)">No output: the run ended', html) == ["none"]
        assert "log-poller" not in html and 'id="run-log-waiting"' not in html


def test_the_service_page_shows_the_run_in_progress_live(signed_in, running):
    html = signed_in.get(f"/services/{running.service_id}/").content.decode()

    assert 'id="run-status"' in html and 'data-status="running"' in html
    assert f'/runs/{running.pk}/log/?after=5"' in html and 'data-follow="true"' in html
    assert "data-log-jump hidden" in html


@pytest.mark.parametrize("page", ["service", "run"])
def test_every_part_a_page_fetches_again_when_the_run_moves_is_on_it(signed_in, running, page):
    """The page re-fetches itself and swaps these ids out of band: each must be on the page
    (htmx reports an error for one that is not) and none may hold the notes form."""
    url = f"/services/{running.service_id}/" if page == "service" else f"/runs/{running.pk}/"
    html = signed_in.get(url).content.decode()

    refresher = re.search(r'hx-trigger="run-changed from:body"[^>]*hx-select-oob="([^"]+)"', html)
    ids = [part.strip().lstrip("#") for part in refresher.group(1).split(",")]
    assert len(ids) >= 5
    for id_ in ids:
        assert html.count(f'id="{id_}"') == 1, id_
    assert "notes" not in ids and "note-form" not in ids


def test_the_service_page_keeps_the_last_runs_log_a_click_away(signed_in, running):
    set_status(running, RunStatus.SUCCEEDED)

    html = signed_in.get(f"/services/{running.service_id}/").content.decode()

    assert f'href="/runs/{running.pk}/" id="last-run-log">View the log of run #{running.pk}' in html
    assert 'data-status="succeeded"' in html and 'data-tasks="3"' in html
    assert 'id="run-log"' not in html  # the log itself is on the run's page
    assert "run-changed" not in html and "/status/" not in html  # nothing polls


def test_a_page_fetching_its_parts_again_leaves_the_messages_for_the_next_page(signed_in, running):
    """A message queued by another tab (a Cancel, say) is not eaten by the background re-fetch
    of the service page: the next page the user opens shows it."""
    note = signed_in.post(
        f"/runs/{running.pk}/cancel/", {"next": f"/services/{running.service_id}/"}
    )
    assert note.status_code == 302

    refetch = signed_in.get(f"/services/{running.service_id}/", headers={"HX-Request": "true"})
    assert "Cancel requested: run" not in refetch.content.decode()
    assert "Cancel requested: run" in signed_in.get("/services/").content.decode()
