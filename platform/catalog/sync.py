"""Syncing a catalogue source: claim it, read its folder or fetch its git branch, load the
tree (catalog.services), and note the outcome on the source.

Slow I/O (git) runs outside any transaction; each template is then written in its own.
"""

import logging
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit import services as audit
from catalog import galaxy, git
from catalog.models import CatalogSource, CatalogSync, SourceKind
from catalog.services import LOCAL_SOURCE, Origin, local_source, sync_catalog
from core import dispatch, secrets, text
from credentials import types as credential_types
from credentials.models import CredentialType

logger = logging.getLogger(__name__)

# A claim not refreshed for this long is of a sync that died (a worker killed mid-fetch): it
# is taken over. A live sync refreshes it after the fetch (ls-remote and fetch, each up to
# git.TIMEOUT) and before each template (whose collections and roles installs take up to
# galaxy.TIMEOUT each), so this outlasts the longest of those steps.
STALE_CLAIM = timedelta(seconds=max(2 * git.TIMEOUT, 2 * galaxy.TIMEOUT) + 300)
SYNC_TASK = "catalog.sync_source"


class SourceUnavailable(Exception):
    """The source could not be read; it keeps its last good versions and `last_error`."""


class ClaimLost(Exception):
    """Another sync took the source over (this one's claim went stale): this one stops."""


class Claim:
    """A sync's hold on its source: `sync_started_at` equal to `at`, refreshed as it goes."""

    def __init__(self, *, source_id: int, at: datetime) -> None:
        self.source_id, self.at = source_id, at

    def refresh(self) -> None:
        """Move the claim to now, if it is still this sync's; else raise ClaimLost."""
        now = timezone.now()
        held = CatalogSource.objects.filter(pk=self.source_id, sync_started_at=self.at)
        if not held.update(sync_started_at=now):
            raise ClaimLost(f"catalogue source {self.source_id} was taken over by another sync")
        self.at = now


def request_sync(*, source: CatalogSource, force: bool = False) -> None:
    """Have the worker sync the source once the current transaction commits."""
    dispatch.send_on_commit(SYNC_TASK, source.pk, force)


def sync_all_sources() -> list[str]:
    """Sync every source, each apart (one that fails does not stop the others); the server's
    folder is one of them. Returns the errors, one a source that failed."""
    local_source()
    errors = []
    for source in CatalogSource.objects.order_by("name"):
        try:
            sync_source(source=source)
        except SourceUnavailable as exc:
            errors.append(f"{source.name}: {exc}")
        except Exception:  # a bug in one source's sync must not stop the others
            logger.exception("sync of catalogue source %s failed", source.name)
            errors.append(f"{source.name}: unexpected error")
    return errors


def sync_source(
    *, source: CatalogSource, force: bool = False, directory: Path | None = None
) -> CatalogSync | None:
    """Sync one source; None when another sync of it is running (it is not started twice),
    or took it over while this one ran (this one then stops).

    A git source's new commit must descend from the last one read unless `force` (else its
    history was rewritten). Raises SourceUnavailable when the source cannot be read: nothing
    is loaded, `last_error` says why. `directory` reads another folder for a folder source.
    """
    claim = _claim(source)
    if claim is None:
        return None
    source.refresh_from_db()  # callers may hold it from before another sync ended
    try:
        try:
            if source.kind == SourceKind.FOLDER:
                report, commit = _sync_folder(source, directory, claim), ""
            else:
                report, commit = _sync_git(source, force=force, claim=claim)
        except (git.GitError, OSError, ValueError, secrets.UnreadableSecrets) as exc:
            message = text.replaced(str(exc))
            _failed(source, message)
            raise SourceUnavailable(message) from None
        now = timezone.now()
        # The previews this sync wrote are what promotion releases: not those a failed or
        # overtaken sync left (it records nothing).
        recorded = CatalogSource.objects.filter(pk=source.pk, sync_started_at=claim.at).update(
            commit=commit,
            synced_at=now,
            last_attempt_at=now,
            last_error="",
            previews=report.previews,
        )
        if not recorded:
            raise ClaimLost(f"catalogue source {source.name} was taken over by another sync")
        source.commit, source.synced_at, source.last_error = commit, now, ""
        source.previews = report.previews
        return report
    except ClaimLost as lost:
        logger.warning("%s: this sync stops", lost)
        return None
    finally:
        CatalogSource.objects.filter(pk=source.pk, sync_started_at=claim.at).update(
            sync_started_at=None
        )


def _claim(source: CatalogSource) -> Claim | None:
    now = timezone.now()
    free = Q(sync_started_at__isnull=True) | Q(sync_started_at__lt=now - STALE_CLAIM)
    if not CatalogSource.objects.filter(free, pk=source.pk).update(sync_started_at=now):
        return None
    return Claim(source_id=source.pk, at=now)


def _sync_folder(source: CatalogSource, directory: Path | None, claim: Claim) -> CatalogSync:
    # The local source reads GANGPLANK_CATALOG_DIR as it is now, whatever it was when made.
    configured = settings.CATALOG_DIR if source.name == LOCAL_SOURCE else source.url
    folder = Path(directory or configured)
    if not folder.is_dir():
        raise FileNotFoundError(f"catalogue folder {folder} does not exist")
    return sync_catalog(directory=folder, origin=Origin(source=source), progress=claim.refresh)


def _sync_git(source: CatalogSource, *, force: bool, claim: Claim) -> tuple[CatalogSync, str]:
    remote = remote_for(source)
    cache = Path(settings.DATA_DIR) / "sources" / f"{source.pk}.git"
    commit = git.fetch(cache=cache, remote=remote)
    claim.refresh()
    previous = source.commit
    rewritten = (
        previous
        and previous != commit.sha
        and not force
        and not git.is_ancestor(cache=cache, old=previous, new=commit.sha)
    )
    if rewritten:
        raise git.GitError(
            f"history was rewritten: {previous} is not an ancestor of {commit.sha} "
            "(a force-push); sync with force to accept it"
        )
    with tempfile.TemporaryDirectory(prefix="gangplank-source-") as scratch:
        tree = git.export(cache=cache, commit=commit.sha, path=source.path, into=Path(scratch))
        origin = Origin(
            source=source,
            commit=commit.sha,
            author=commit.author,
            date=commit.date,
            path=source.path.strip("/"),
        )
        return sync_catalog(directory=tree, origin=origin, progress=claim.refresh), commit.sha


def remote_for(source: CatalogSource) -> git.Remote:
    """What git is given to read the source: its URL and branch, and its credential
    decrypted (an ssh key; a token or a password for http)."""
    remote = git.Remote(url=source.url, ref=source.branch, host_keys=source.host_keys)
    credential = source.credential
    if credential is None:
        return remote
    values = {**credential.values, **secrets.decrypt(token=credential.secrets)}
    hidden = [str(value) for value in secrets.decrypt(token=credential.secrets).values()]
    if credential.type == CredentialType.SSH:
        try:
            key = credential_types.open_private_key(
                values.get("private_key", ""), values.get("passphrase", "")
            )
        except credential_types.KeyProblem as problem:
            raise git.GitError(f"credential {credential.name}: {problem.message}") from None
        return git.Remote(
            url=source.url, ref=source.branch, host_keys=source.host_keys, ssh_key=key,
            secrets=[*hidden, key],
        )  # fmt: skip
    if credential.type == CredentialType.TOKEN:
        return git.Remote(
            url=source.url, ref=source.branch, token=values.get("token", ""), secrets=hidden
        )
    if credential.type == CredentialType.PASSWORD:
        return git.Remote(
            url=source.url, ref=source.branch, username=values.get("username", ""),
            password=values.get("password", ""), secrets=hidden,
        )  # fmt: skip
    raise git.GitError(
        f"credential {credential.name} is of type {credential.type}: a source is read with "
        "an ssh key, a token or a password"
    )


def _failed(source: CatalogSource, message: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        CatalogSource.objects.filter(pk=source.pk).update(last_error=message, last_attempt_at=now)
        audit.record(
            action="catalog.sync_failed",
            obj=source,
            label=source.name,
            changes={"error": [None, message]},
        )
    source.last_error, source.last_attempt_at = message, now
