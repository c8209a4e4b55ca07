"""The one table of moves: what each status allows."""

import ast
import pathlib
import re

import pytest
from django.apps import apps

from approvals.states import ApprovalStatus
from core import states
from notifications.models import Delivery, Destination
from notifications.states import DELIVERY_TRANSITIONS, DeliveryStatus
from provisioning.states import (
    RUN_TRANSITIONS,
    SERVICE_TRANSITIONS,
    RunAction,
    RunStatus,
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


def test_move_one_refuses_a_move_off_the_table_naming_the_status_now(teams):
    destination = Destination.objects.create(team=teams["alpha"], name="chat", secrets="-")
    delivery = Delivery.objects.create(destination=destination, title="t", body="b")
    one = Delivery.objects.filter(pk=delivery.pk)

    states.move_one(one, table=DELIVERY_TRANSITIONS, to=DeliveryStatus.SENT, error="")
    with pytest.raises(states.InvalidTransition) as refused:
        states.move_one(one, table=DELIVERY_TRANSITIONS, to=DeliveryStatus.FAILED, error="late")

    assert (refused.value.current, refused.value.to) == (DeliveryStatus.SENT, DeliveryStatus.FAILED)
    assert one.values_list("status", "error").get() == (DeliveryStatus.SENT, "")


STATUS_ENUMS = (ServiceStatus, RunStatus, ApprovalStatus, DeliveryStatus)
STATUS_VALUES = frozenset(value for enum in STATUS_ENUMS for value in enum.values)
ROOT = pathlib.Path(__file__).resolve().parent.parent
# A name that holds a status: status, run_status, to_status, status__in, runs__status__in...
STATUS_NAME = re.compile(r"(^|_)status($|_)")


def _names_a_status(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return bool(STATUS_NAME.search(node.id))
    if isinstance(node, ast.Attribute):
        return bool(STATUS_NAME.search(node.attr))
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return isinstance(node.slice.value, str) and bool(STATUS_NAME.search(node.slice.value))
    return False


def _status_literals(node: ast.AST | None) -> list[ast.Constant]:
    """The string constants in `node` (itself, or in a tuple, list, set or if-else) that
    are status values."""
    if isinstance(node, ast.Constant):
        return [node] if node.value in STATUS_VALUES else []
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [c for element in node.elts for c in _status_literals(element)]
    if isinstance(node, ast.IfExp):
        return _status_literals(node.body) + _status_literals(node.orelse)
    return []


def _literals_used_as_statuses(tree: ast.AST) -> list[ast.Constant]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_names_a_status(operand) for operand in operands):
                found += [c for operand in operands for c in _status_literals(operand)]
        elif isinstance(node, ast.keyword) and node.arg:
            if node.arg == "to" or STATUS_NAME.search(node.arg):
                found += _status_literals(node.value)
        elif isinstance(node, ast.Dict):
            keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
            for key, value in zip(keys, node.values, strict=True):
                if isinstance(key, str) and STATUS_NAME.search(key):
                    found += _status_literals(value)
            if len(keys) > 1 and all(key in STATUS_VALUES for key in keys):
                found += [k for k in node.keys if isinstance(k, ast.Constant)]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_names_a_status(target) for target in targets):
                found += _status_literals(node.value)
        elif isinstance(node, ast.arguments):
            named = [*node.posonlyargs, *node.args]
            pairs = list(zip(named[len(named) - len(node.defaults) :], node.defaults, strict=True))
            pairs += [(a, d) for a, d in zip(node.kwonlyargs, node.kw_defaults, strict=True) if d]
            for argument, default in pairs:
                if argument.arg == "to" or STATUS_NAME.search(argument.arg):
                    found += _status_literals(default)
    return found


def _platform_modules():
    for path in sorted((ROOT / "platform").rglob("*.py")):
        if "migrations" not in path.parts and path.name != "states.py":
            yield path


def test_no_string_literal_stands_for_a_status():
    found = [
        f"{path.relative_to(ROOT)}:{constant.lineno}: {constant.value!r}"
        for path in _platform_modules()
        for constant in _literals_used_as_statuses(ast.parse(path.read_text(), str(path)))
    ]
    assert found == [], "use the status enums of the apps' states.py"


def test_the_scan_finds_statuses_written_as_strings():
    code = """
if run.status == "failed": pass
Run.objects.filter(status__in=["queued", RunStatus.RUNNING]).exclude(last_run__status="canceled")
move(queryset, to="succeeded")
BADGES = {"active": "success", "pending": "warning"}
changes = {"status": ["pending", to]}
service.status = "active"
def f(status="lapsed"): pass
"""
    found = sorted(c.value for c in _literals_used_as_statuses(ast.parse(code)))
    expected = ["failed", "queued", "canceled", "succeeded", "active", "pending", "pending"]
    assert found == sorted([*expected, "active", "lapsed"])


TEMPLATE_STATUS = re.compile(r"status\s*(==|!=)\s*[\"']|status_badge\s+[\"']")


def test_templates_compare_no_status_with_a_string():
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if TEMPLATE_STATUS.search(line)
    ]
    assert found == [], "use the models' is_<status> properties"


def test_each_status_has_one_badge_colour():
    declared = [getattr(config, "status_badges", {}) for config in apps.get_app_configs()]
    for value in STATUS_VALUES:
        assert len({colours[value] for colours in declared if value in colours}) == 1, value
