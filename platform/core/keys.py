"""The encryption keys: where they come from and the key file they may live in.

Keys come from `GANGPLANK_ENCRYPTION_KEYS` (comma-separated Fernet keys, the first one
encrypts) or else from the key file `<data dir>/encryption-keys` (one key per line, newest
first), created with a fresh key when missing. The file is looked at on every use (a stat),
so that web processes and workers pick up a rotation without a restart.
"""

import contextlib
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_FILE_NAME = "encryption-keys"

# (where the keys came from, their MultiFernet), replaced whole so threads never see a mix.
_cache: tuple = (None, None)


def key_file() -> Path:
    return Path(settings.DATA_DIR) / KEY_FILE_NAME


def keys_from_environment() -> bool:
    return bool(settings.GANGPLANK_ENCRYPTION_KEYS)


def parse(keys: list[str], *, where: str) -> MultiFernet:
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
        cached = parse(keys, where=where)
        _cache = (source, cached)
    return cached


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
    parse(keys[:1], where=str(key_file()))
    write_key_file(key_file(), keys[:1])
    return len(keys) - 1
