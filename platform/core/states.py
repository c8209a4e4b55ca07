"""Status changes, always made through a transition table.

A table maps each status to the statuses it may move to. `move` changes rows with one
conditional UPDATE, so two processes racing for the same change cannot both win; `move_one`
does the same for one row that must move, and says which status refused it.
"""

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

TransitionTable = Mapping[Any, frozenset[str]]  # keys: a TextChoices enum or str


class InvalidTransition(Exception):
    """The row's status, as it is now in the database, does not allow the move."""

    def __init__(self, *, current: str | None, to: str) -> None:
        super().__init__(f"cannot go from {current} to {to}")
        self.current, self.to = current, to


def sources(table: TransitionTable, target: str) -> list[str]:
    """The statuses from which `target` may be reached."""
    return [status for status, targets in table.items() if target in targets]


def move(queryset: QuerySet, *, table: TransitionTable, to: str, **fields) -> int:
    """Move every row of `queryset` whose status allows it to `to`; return how many moved."""
    return queryset.filter(status__in=sources(table, to)).update(status=to, **fields)


def move_one(queryset: QuerySet, *, table: TransitionTable, to: str, **fields) -> None:
    """Move the one row of `queryset` to `to`, or raise InvalidTransition with the status
    it has now (None when there is no such row)."""
    if not move(queryset, table=table, to=to, **fields):
        current = queryset.values_list("status", flat=True).first()
        raise InvalidTransition(current=current, to=to)
