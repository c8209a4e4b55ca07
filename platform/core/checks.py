"""System checks (`manage.py check`, and every command that runs them): the keys, and
settings that must agree with each other."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from core import keys
from core.durations import MAX_RUN_TIME

# Transports that deliver a message again when it is not acknowledged within the visibility
# timeout (kombu's default: one hour). A run's message is acknowledged when the run ends.
REDELIVERING_TRANSPORTS = ("redis", "rediss", "sentinel", "sqs")
KOMBU_VISIBILITY_TIMEOUT = 60 * 60


def check_visibility_timeout(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The broker's visibility timeout is longer than the longest run, so that a run still
    going is never delivered to a second worker."""
    transport = str(settings.CELERY_BROKER_URL).split("://", 1)[0].split("+", 1)[0]
    if transport not in REDELIVERING_TRANSPORTS:
        return []
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    timeout = float(options.get("visibility_timeout", KOMBU_VISIBILITY_TIMEOUT))
    longest = MAX_RUN_TIME.total_seconds()
    if timeout > longest:
        return []
    return [
        checks.Error(
            f"The broker's visibility timeout ({timeout:g} s) is not longer than the longest "
            f"run (core.durations.MAX_RUN_TIME, {longest:g} s): a run still going would be "
            "delivered again.",
            hint="Raise CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] above it.",
            id="gangplank.E002",
        )
    ]


def check_keys(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The configured keys are Fernet keys (a missing key file is fine: it is made on first
    use)."""
    if not keys.keys_from_environment() and not keys.key_file().exists():
        return []
    try:
        keys.fernet(fresh=True)
    except (ImproperlyConfigured, OSError) as exc:
        return [checks.Error(str(exc), id="gangplank.E001")]
    return []
