"""System checks (`manage.py check`, and every command that runs them)."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from core import keys


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
