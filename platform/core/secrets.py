"""Secret values at rest and in what is shown: Fernet encryption, key rotation, and masking
(`core.masking`, re-exported here).

Keys come from `GANGPLANK_ENCRYPTION_KEYS` (comma-separated Fernet keys, the first one
encrypts) or else from the key file `<data dir>/encryption-keys` (one key per line, newest
first), created with a fresh key when missing. The file is looked at on every use (a stat),
so that web processes and workers pick up a rotation without a restart.
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from core.masking import MASK, mask, masker  # noqa: F401 (re-exported for their callers)

PLACEHOLDER = "$encrypted$"
KEY_FILE_NAME = "encryption-keys"

# (where the keys came from, their MultiFernet), replaced whole so threads never see a mix.
_cache: tuple = (None, None)


class UnreadableSecrets(Exception):
    """A token that none of the keys decrypts."""


def key_file() -> Path:
    return Path(settings.DATA_DIR) / KEY_FILE_NAME


def keys_from_environment() -> bool:
    return bool(settings.GANGPLANK_ENCRYPTION_KEYS)


def _parse(keys: list[str], *, where: str) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(f"{where} holds no encryption key.")
    fernets = []
    for number, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            raise ImproperlyConfigured(
                f"{where}: key {number} is not a Fernet key (32 url-safe base64-encoded bytes; "
                "make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)."
            ) from None
    return MultiFernet(fernets)


def read_key_file(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def write_key_file(path: Path, keys: list[str], *, replace: bool = True) -> None:
    """Write the keys (mode 0600) atomically: readers see the old file or the new one.

    Without `replace`, an existing file wins (two processes creating it at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".encryption-keys-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write("".join(f"{key}\n" for key in keys))
        if replace:
            os.replace(temporary, path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _source() -> tuple:
    if keys_from_environment():
        return ("environment", tuple(settings.GANGPLANK_ENCRYPTION_KEYS))
    path = key_file()
    if not path.exists():
        write_key_file(path, [Fernet.generate_key().decode()], replace=False)
    stat = path.stat()
    return ("file", str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)


def fernet(*, fresh: bool = False) -> MultiFernet:
    """The configured keys, re-read when the key file changed (or when `fresh`)."""
    global _cache
    source = _source()
    cached_source, cached = _cache
    if fresh or cached_source != source:
        if source[0] == "environment":
            keys, where = list(source[1]), "GANGPLANK_ENCRYPTION_KEYS"
        else:
            keys, where = read_key_file(Path(source[1])), source[1]
        cached = _parse(keys, where=where)
        _cache = (source, cached)
    return cached


def check_keys(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`manage.py check`: the configured keys are Fernet keys (a missing key file is fine:
    it is made on first use)."""
    if not keys_from_environment() and not key_file().exists():
        return []
    try:
        fernet(fresh=True)
    except (ImproperlyConfigured, OSError) as exc:
        return [checks.Error(str(exc), id="gangplank.E001")]
    return []


def file_keys() -> list[str]:
    """The key file's keys, newest first (the file is made when missing, refused when
    broken)."""
    fernet()
    return read_key_file(key_file())


def add_key() -> int:
    """Put a freshly generated key first in the key file, keeping the others (workers that
    read the file earlier still decrypt); returns how many keys it now holds."""
    keys = [Fernet.generate_key().decode(), *file_keys()]
    write_key_file(key_file(), keys)
    return len(keys)


def drop_old_keys() -> int:
    """Keep only the newest key in the key file; returns how many were dropped."""
    keys = file_keys()
    _parse(keys[:1], where=str(key_file()))
    write_key_file(key_file(), keys[:1])
    return len(keys) - 1


def encrypt(*, values: dict) -> str:
    """A token holding `values` (a JSON object); "" when there is nothing to hide."""
    if not values:
        return ""
    return fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt(*, token: str) -> dict:
    """The values a token holds; {} for "". Raises UnreadableSecrets when no key fits."""
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken:
        pass
    # Keys may have been rotated since they were read (a file changed within the stat's
    # granularity): read them again before giving up.
    try:
        return json.loads(fernet(fresh=True).decrypt(token.encode()))
    except InvalidToken:
        raise UnreadableSecrets("none of the encryption keys decrypts these secrets") from None


def rotate(*, token: str) -> str:
    """The token re-encrypted with the first of the configured keys."""
    if not token:
        return ""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise UnreadableSecrets("none of the encryption keys decrypts these secrets") from None


def reencrypt_all() -> dict[str, int]:
    """Every row's `secrets` (services, runs, notification destinations: every model with
    that column) re-encrypted with the first key, in one transaction (rows locked
    meanwhile); returns how many of each."""
    counts: dict[str, int] = {}
    models = [m for m in apps.get_models() if any(f.name == "secrets" for f in m._meta.fields)]
    with transaction.atomic():
        for model in models:
            rows: list[Any] = list(
                model._default_manager.select_for_update().exclude(secrets="").only("secrets")
            )
            for row in rows:
                try:
                    row.secrets = rotate(token=row.secrets)
                except UnreadableSecrets as exc:
                    label = model._meta.verbose_name
                    raise UnreadableSecrets(f"{label} {row.pk}: {exc}") from None
            model._default_manager.bulk_update(rows, ["secrets"], batch_size=500)
            counts[str(model._meta.verbose_name_plural)] = len(rows)
    return counts


def differences(*, before: str, after: str) -> dict[str, list]:
    """The values that differ between two tokens, by name, each as [MASK or None, MASK or
    None] (None on the side it is missing from): what changed, never what it is."""
    if before == after:
        return {}
    old, new = decrypt(token=before), decrypt(token=after)
    return {
        name: [MASK if name in old else None, MASK if name in new else None]
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    }
