"""The data dir, made before any process uses it: its folders, the generated SECRET_KEY
(unless the environment sets one) and the encryption key file (unless
GANGPLANK_ENCRYPTION_KEYS is set). `manage.py prepare_data_dir` does it, run by `make run`,
the image's entrypoint and the suite's conftest; the settings only read what it made."""

import secrets as random
from pathlib import Path

from django.conf import settings

from core import keys

# kombu's filesystem transport needs its folders to exist.
BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def folders() -> list[Path]:
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    broker = [Path(options[name]) for name in BROKER_FOLDERS if name in options]
    return [Path(settings.DATA_DIR), Path(settings.RESOURCES_DIR), Path(settings.RUNS_DIR), *broker]


def prepare_data_dir() -> None:
    """Make what is missing, keep what exists (processes starting at once included)."""
    for folder in folders():
        folder.mkdir(parents=True, exist_ok=True)
    if settings.GANGPLANK_SECRET_KEY_FILE is not None:
        path = Path(settings.GANGPLANK_SECRET_KEY_FILE)
        if not path.exists():
            keys.write_key_file(path, [random.token_urlsafe(50)], replace=False)
    if not keys.keys_from_environment():
        keys.file_keys()
