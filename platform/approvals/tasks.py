from celery import shared_task

from approvals import services


@shared_task(name="approvals.lapse_overdue")
def lapse_overdue() -> None:
    services.lapse_overdue()
