"""The one table of moves: what each status allows."""

import pytest

from core import states
from provisioning.states import (
    RUN_TRANSITIONS,
    SERVICE_TRANSITIONS,
    RunAction,
    ServiceStatus,
    available_actions,
)

A, S = RunAction, ServiceStatus


@pytest.mark.parametrize(
    ("status", "failed_action", "expected"),
    [
        (S.ACTIVE, "", {A.UPDATE, A.UPGRADE, A.DEPROVISION, A.PREVIEW, A.DRIFT_CHECK}),
        (S.FAILED, A.PROVISION, {A.PROVISION, A.DEPROVISION}),
        (S.FAILED, A.UPDATE, {A.UPDATE, A.UPGRADE, A.DEPROVISION, A.PREVIEW}),
        (S.PROVISIONING, "", set()),
        (S.UPDATING, "", set()),
        (S.DEPROVISIONED, "", set()),
    ],
)
def test_available_actions_follow_the_table(status, failed_action, expected):
    assert available_actions(status, failed_action) == expected


def test_every_status_has_a_row_and_finished_ones_go_nowhere():
    assert set(SERVICE_TRANSITIONS) == set(ServiceStatus)
    assert SERVICE_TRANSITIONS[S.DEPROVISIONED] == frozenset()
    assert states.sources(RUN_TRANSITIONS, "running") == ["queued"]


def test_check_refuses_a_move_off_the_table():
    with pytest.raises(states.InvalidTransition):
        states.check(SERVICE_TRANSITIONS, S.DEPROVISIONED, S.ACTIVE)
    states.check(SERVICE_TRANSITIONS, S.ACTIVE, S.UPDATING)
