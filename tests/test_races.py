"""Races on a run: a cancel against the worker's claim, two retries against each other.

Runs are of the `ledger` template (see test_outages): every execution writes a line, and a
run waits for its go file, so a claimed run is still running when the cancel lands.
"""

from audit.models import AuditEvent
from conftest import api_client_for, race, request_via_api, wait_for_run
from core.errors import Conflict
from provisioning import execution, services
from provisioning.models import Run, RunEvent
from provisioning.states import RUN_IN_PROGRESS

ROUNDS = 4


def test_a_cancel_racing_the_claim_ends_the_run_canceled_and_it_runs_at_most_once(
    transactional_db, catalog, owner, teams, ledger, own_queue
):
    """The worker's claim (execute_run, as its task calls it) and the user's cancel, released
    together: either the run never starts, or it starts and is stopped. Never both, never
    a run left in progress. The claim comes a few reads later each round (as a message
    would after some delivery delay), so that each side wins some rounds."""

    def attempt(who: str, run_id: int, reads: int):
        if who == "user":
            return services.cancel_run(user=owner, run=Run.objects.get(pk=run_id))
        for _ in range(reads):
            Run.objects.filter(pk=run_id).exists()
        return execution.execute_run(run_id=run_id)

    seen = []
    for round_ in range(ROUNDS + 1):
        name = f"contested-{round_}"
        book = ledger(name)
        service = services.request_service(
            user=owner, template=catalog["ledger"], team=teams["alpha"], name=name, inputs={}
        )
        run_id = service.last_run_id
        if round_ == ROUNDS:  # the cancel surely first: the claim that follows does nothing
            outcomes = [attempt("user", run_id, 0), attempt("worker", run_id, 0)]
        else:
            sides = [("user", run_id, 0), ("worker", run_id, 3 * round_)]
            outcomes = race(lambda side: attempt(*side), sides, expected=Conflict)
        assert not any(isinstance(outcome, Conflict) for outcome in outcomes), outcomes

        run = Run.objects.select_related("service").get(pk=run_id)
        assert run.status == "canceled" and run.canceled_by == owner
        assert not Run.objects.filter(service=service, status__in=RUN_IN_PROGRESS).exists()
        if run.started_at is None:  # the cancel won: nothing ran, the service is back
            seen.append("before it started")
            assert "before it started" in run.error
            assert run.service.status == "deprovisioned"
            assert book.lines() == []
            assert not RunEvent.objects.filter(run=run).exists()
        else:  # the claim won: the worker saw the cancel and stopped the playbook
            seen.append("while running")
            assert run.error == "canceled by owner while running"
            assert (run.service.status, run.service.failed_action) == ("failed", "provision")
            assert book.lines() in ([], [f"start provision {run_id}"])
        assert AuditEvent.objects.filter(action="run.cancel", object_id=str(run_id)).count() == 1
    print("cancel against claim, canceled in each round:", seen)


def test_two_retries_racing_queue_one_run_and_it_runs_once(worker, catalog, api, owner, ledger):
    book = ledger("twice")
    book.go("fail")
    created = request_via_api(api, "ledger", "twice", {})
    failed = wait_for_run(api, created["last_run"]["id"])
    assert failed["status"] == "failed"
    book.go()

    clients = [api_client_for(owner) for _ in range(2)]
    responses = race(lambda client: client.post(f"/api/runs/{failed['id']}/retry/"), clients)

    assert sorted(response.status_code for response in responses) == [202, 409]
    retried = next(r.json()["id"] for r in responses if r.status_code == 202)
    assert wait_for_run(api, retried)["status"] == "succeeded"
    assert list(Run.objects.filter(retry_of_id=failed["id"]).values_list("pk", flat=True)) == [
        retried
    ]
    assert book.lines() == [
        f"start provision {failed['id']}", f"start provision {retried}", f"end provision {retried}"
    ]  # fmt: skip
    assert api.get(f"/api/services/{created['id']}/").json()["status"] == "active"
