from celery import shared_task

from notifications import services


@shared_task(name=services.DELIVER_TASK, bind=True, max_retries=None)
def deliver(self, delivery_id: int) -> None:
    countdown = services.deliver(delivery_id=delivery_id)
    if countdown is not None:
        raise self.retry(countdown=countdown)


@shared_task(name="notifications.resend_lost_deliveries")
def resend_lost_deliveries() -> None:
    services.resend_lost_deliveries()
