"""Events retention: finished runs older than GANGPLANK_EVENTS_RETENTION_DAYS keep their
summary, outputs and changes, and their log as a gzip file under RUN_LOGS_DIR, but not their
event rows. Run by beat (provisioning.tasks.archive_run_logs); safe to run twice or concurrently."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from provisioning import logarchive, selectors
from provisioning.models import Run, RunEvent
from provisioning.states import RUN_FINISHED

log = logging.getLogger(__name__)

BATCH = 50
# At most this many runs per call: the next beat goes on where this one stopped.
MAX_PER_CALL = 2000


def archive_run_logs(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Archive the logs of the finished runs past the retention period that still have event
    rows, `batch` runs to a query, each run in its own transaction; returns how many."""
    days = settings.GANGPLANK_EVENTS_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    due = (
        Run.objects.filter(
            status__in=RUN_FINISHED,
            finished_at__lt=cutoff,
            log_archived_at__isnull=True,
        )
        .filter(Exists(RunEvent.objects.filter(run=OuterRef("pk"))))
        .order_by("finished_at", "pk")
    )
    archived = 0
    # Each run is tried once per call, archived or not (another beat's, or failed to write).
    tried: set[int] = set()
    while len(tried) < MAX_PER_CALL:
        run_ids = list(due.exclude(pk__in=tried).values_list("pk", flat=True)[:batch])
        if not run_ids:
            break
        tried.update(run_ids)
        for run_id in run_ids:
            try:
                archived += archive_run_log(run_id=run_id, cutoff=cutoff)
            except OSError:
                log.exception("could not archive the log of run %s; will retry", run_id)
    return archived


def archive_run_log(*, run_id: int, cutoff: datetime) -> int:
    """Write the run's log to its file, mark it archived and delete its events, in one
    transaction; 0 when another beat did it already or the run is not due (any more)."""
    with transaction.atomic():
        # Conditional: of two beats racing, one claims the run; the other waits for its
        # transaction, then finds it archived. The row stays locked till the events are gone.
        claimed = Run.objects.filter(
            pk=run_id,
            status__in=RUN_FINISHED,
            finished_at__lt=cutoff,
            log_archived_at__isnull=True,
        ).update(log_archived_at=timezone.now())
        if not claimed:
            return 0
        text = selectors.events_text(run_id=run_id)
        logarchive.write(logarchive.path_of(settings.RUN_LOGS_DIR, run_id), text)
        RunEvent.objects.filter(run_id=run_id).delete()
    return 1
