from celery import shared_task
from django.conf import settings

from catalog import services


@shared_task(name="catalog.sync_catalog")
def sync_catalog() -> None:
    services.sync_catalog(directory=settings.CATALOG_DIR)
