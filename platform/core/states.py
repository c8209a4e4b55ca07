"""Status changes, always made through a transition table.

A table maps each status to the statuses it may move to. `move` changes rows with one
conditional UPDATE, so two processes racing for the same change cannot both win.
"""

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

TransitionTable = Mapping[Any, frozenset[str]]  # keys: a TextChoices enum or str


class InvalidTransition(Exception):
    pass


def sources(table: TransitionTable, target: str) -> list[str]:
    """The statuses from which `target` may be reached."""
    return [status for status, targets in table.items() if target in targets]


def check(table: TransitionTable, current: str, target: str) -> None:
    if target not in table.get(current, frozenset()):
        raise InvalidTransition(f"cannot go from {current} to {target}")


def move(queryset: QuerySet, *, table: TransitionTable, to: str, **fields) -> int:
    """Move every row of `queryset` whose status allows it to `to`; return how many moved."""
    return queryset.filter(status__in=sources(table, to)).update(status=to, **fields)
