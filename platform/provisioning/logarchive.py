"""A finished run's log kept as a gzip file once its events are removed (provisioning.retention).
Plain files: nothing of Django."""

import gzip
import os
import tempfile
from pathlib import Path


def path_of(root: Path, run_id: int) -> Path:
    return Path(root) / f"{run_id}.log.gz"


def write(path: Path, text: str) -> None:
    """Write `text` gzip-compressed to `path` atomically: a reader sees the old file or the
    whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read(path: Path) -> str | None:
    """The text of the archived log at `path`; None when the file is missing or unreadable."""
    try:
        with gzip.open(path, "rb") as archived:
            return archived.read().decode("utf-8", errors="replace")
    except (OSError, EOFError):
        return None
