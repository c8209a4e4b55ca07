"""Sending Celery tasks by name, so that the code that sends one never imports the task
module (which imports the services that do the work: a cycle otherwise)."""

from celery import current_app
from django.db import transaction


def send(task_name: str, *args: object) -> None:
    current_app.send_task(task_name, args=args)


def send_on_commit(task_name: str, *args: object, robust: bool = False) -> None:
    """Send the task once the current transaction commits (at once outside of one).
    `robust`: a broker outage at that moment is logged, not raised."""
    transaction.on_commit(lambda: send(task_name, *args), robust=robust)
