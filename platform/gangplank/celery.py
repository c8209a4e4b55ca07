import os
import sys

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gangplank.settings")

app = Celery("gangplank")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def prepare_host(**kwargs) -> None:
    """A worker that cannot sandbox runs does not start (Celery logs and swallows an
    exception here, so the refusal is a SystemExit)."""
    from django.core.exceptions import ImproperlyConfigured

    from provisioning.housekeeping import prepare_host  # once Django is set up

    try:
        prepare_host()
    except ImproperlyConfigured as exc:
        print(f"gangplank worker: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
