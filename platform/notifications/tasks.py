from celery import shared_task
from django.conf import settings

from notifications import services


@shared_task(name="notifications.deliver", bind=True, max_retries=None)
def deliver(self, delivery_id: int) -> None:
    attempt = self.request.retries + 1
    if services.deliver(delivery_id=delivery_id, attempt=attempt):
        # Exponential backoff: 1, 2, 4, ... times the base between attempts.
        countdown = settings.GANGPLANK_NOTIFY_BACKOFF_SECONDS * 2 ** (attempt - 1)
        raise self.retry(countdown=countdown)
