import logging

from celery import shared_task

from catalog import sync
from catalog.models import CatalogSource

logger = logging.getLogger(__name__)

# A sync requested while another of the same source runs is tried again after it, however
# long that takes (a pushed commit is never dropped): a sync refreshes its claim as it goes,
# and the claim of one whose worker died goes stale (sync.STALE_CLAIM), so this ends.
BUSY_RETRY_SECONDS = 5
BUSY_RETRY_MAX_SECONDS = 60


@shared_task(name="catalog.sync_catalog")
def sync_catalog() -> None:
    for error in sync.sync_all_sources():
        logger.warning("catalogue source not synced: %s", error)


@shared_task(bind=True, name="catalog.sync_source", max_retries=None)
def sync_source(self, source_id: int, force: bool = False) -> None:
    source = CatalogSource.objects.select_related("credential").filter(pk=source_id).first()
    if source is None:
        return
    try:
        report = sync.sync_source(source=source, force=force)
    except sync.SourceUnavailable as exc:
        logger.warning("catalogue source %s not synced: %s", source.name, exc)
        return
    if report is None:
        wait = min(BUSY_RETRY_SECONDS * (self.request.retries + 1), BUSY_RETRY_MAX_SECONDS)
        raise self.retry(countdown=wait)
