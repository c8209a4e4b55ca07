"""How the worker stores a run's events (`record_events`), on PostgreSQL: a batch is copied in,
a replayed event is skipped, and what a playbook printed is kept as it came, made storable."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from provisioning.execution import record_events
from provisioning.models import RunEvent


@pytest.fixture
def run_id(db, catalog, owner, teams) -> int:
    from provisioning.services import request_service

    service = request_service(
        user=owner,
        template=catalog["echo"],
        team=teams["alpha"],
        name="ev",
        inputs={"message": "x"},
    )
    return service.last_run_id


def event(counter: int, **changes) -> dict:
    made = {
        "counter": counter,
        "event": "runner_on_ok",
        "stdout": f"line {counter}",
        "created": "2026-01-02T03:04:05.678901",
        "event_data": {"task": "t", "host": "localhost", "res": {"rc": 0}},
    }
    return {**made, **changes}


def stored(run_id: int) -> list[RunEvent]:
    return list(RunEvent.objects.filter(run_id=run_id).order_by("pk"))


def test_it_stores_a_batch_with_the_same_statements_whatever_its_size(run_id):
    with CaptureQueriesContext(connection) as small:
        record_events([event(n) for n in range(1, 3)], run_id=run_id)
    with CaptureQueriesContext(connection) as large:
        record_events([event(n) for n in range(3, 503)], run_id=run_id)

    assert len(large) == len(small)
    assert sum("INSERT" in query["sql"] for query in large) == 1
    assert RunEvent.objects.filter(run_id=run_id).count() == 502


def test_it_ignores_a_replayed_batch_and_keeps_the_first_of_each_counter(run_id):
    record_events([event(n) for n in range(1, 51)], run_id=run_id)

    record_events([event(n, stdout="again") for n in range(41, 61)], run_id=run_id)

    rows = stored(run_id)
    assert [row.counter for row in rows] == list(range(1, 61))
    assert [row.stdout for row in rows] == [f"line {n}" for n in range(1, 51)] + ["again"] * 10


def test_it_ignores_an_event_repeated_within_one_batch(run_id):
    record_events([event(1), event(2), event(1, stdout="twice")], run_id=run_id)

    assert [(row.counter, row.stdout) for row in stored(run_id)] == [(1, "line 1"), (2, "line 2")]


def test_it_stores_the_events_in_the_order_of_the_batch(run_id):
    record_events([event(n) for n in (1, 2, 5, 3, 4)], run_id=run_id)
    record_events([event(n) for n in (7, 6)], run_id=run_id)

    assert [row.counter for row in stored(run_id)] == [1, 2, 5, 3, 4, 7, 6]


def test_it_stores_each_field_as_the_event_gave_it(run_id):
    record_events([event(7, event="x" * 150, event_data={"task": "y" * 600})], run_id=run_id)

    (row,) = stored(run_id)
    assert row.event == "x" * 100 and row.task == "y" * 500 and row.host == ""
    assert row.data == {"task": "y" * 600}
    assert row.created_at.isoformat() == "2026-01-02T03:04:05.678901+00:00"


def test_it_replaces_nul_and_lone_surrogates_and_keeps_other_unicode(run_id):
    odd = "tab\there, back\\slash, newline\n, ünïcødé, emoji 🚀, rtl \u202e, zero-width \u200b"
    record_events(
        [
            event(
                1,
                stdout=f"nul\x00 {odd} surrogate \ud800",
                event_data={"task": "a\x00b", "host": "h", "k\x00ey": [odd, "\udfff", None, 1.5]},
            )
        ],
        run_id=run_id,
    )

    (row,) = stored(run_id)
    assert row.stdout == f"nul\ufffd {odd} surrogate \ufffd"
    assert row.task == "a\ufffdb"
    assert row.data == {"task": "a\ufffdb", "host": "h", "k\ufffdey": [odd, "\ufffd", None, 1.5]}


def test_it_stores_a_huge_event_whole(run_id):
    huge = "0123456789abcdef" * 200_000  # 3.2 MB of output
    record_events([event(1, stdout=huge, event_data={"res": {"stdout": huge}})], run_id=run_id)

    (row,) = stored(run_id)
    assert row.stdout == huge and row.data["res"]["stdout"] == huge


def test_a_batch_is_part_of_the_callers_transaction(run_id):
    with pytest.raises(RuntimeError), transaction.atomic():
        record_events([event(1), event(2)], run_id=run_id)
        raise RuntimeError("the caller fails")

    assert stored(run_id) == []
    with transaction.atomic():  # two batches in one transaction: the first is not moved twice
        record_events([event(1)], run_id=run_id)
        record_events([event(2)], run_id=run_id)
    assert [row.counter for row in stored(run_id)] == [1, 2]


def test_it_keeps_text_that_only_looks_like_an_escaped_nul(run_id):
    record_events(
        [event(1, stdout="C:\\u0000 and \\ud800", event_data={"\\u0000": 1})], run_id=run_id
    )

    (row,) = stored(run_id)
    assert row.stdout == "C:\\u0000 and \\ud800" and row.data == {"\\u0000": 1}
