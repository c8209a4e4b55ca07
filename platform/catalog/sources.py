"""Managing the catalogue's sources: platform engineers only, each change one transaction,
audited without the webhook secret (its change is recorded as MASK).

The portal's form and the API both call these, so the checks (catalog.source_checks, and
what needs the database: a unique name, the credential's type) are made here once.
"""

import secrets as random
from collections.abc import Iterable
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit import services as audit
from catalog import source_checks as checks
from catalog import uses
from catalog.models import CatalogSource, SourceKind, Template, TemplateVersion
from catalog.sync import STALE_CLAIM
from core import secrets
from core.errors import Conflict, InvalidRequest
from core.masking import MASK
from core.types import AnyUser
from credentials.models import Credential, CredentialType
from teams import permissions
from teams.models import Team

CREDENTIAL_TYPES = (CredentialType.SSH, CredentialType.TOKEN, CredentialType.PASSWORD)
# The fields an update may change, as the audit trail names them.
FIELDS = ("name", "url", "branch", "path", "credential", "host_keys", "preview", "teams")
UNSET: Any = object()


def create_source(
    *,
    user: AnyUser | None,
    name: str,
    url: str,
    branch: str = "main",
    path: str = "",
    credential: Credential | None = None,
    host_keys: str = "",
    preview: bool = False,
    teams: Iterable[Team] = (),
    secret: str = "",
    kind: str = SourceKind.GIT,
) -> tuple[CatalogSource, str]:
    """A new git source, and its webhook secret (`secret`, or one generated): returned
    here once, stored encrypted, never shown again."""
    _check_user(user)
    teams = list(teams)
    values = {
        "name": name,
        "url": url,
        "branch": branch,
        "path": path,
        "credential": credential,
        "host_keys": host_keys,
        "preview": preview,
        "teams": teams,
    }
    errors = _errors(values, source=None)
    if kind != SourceKind.GIT:
        errors["kind"] = [
            "Only git sources are made here: the server's catalogue folder "
            "(GANGPLANK_CATALOG_DIR) is a source the sync makes itself."
        ]
    if secret and (problem := checks.secret_problem(secret)):
        errors["secret"] = [problem]
    if errors:
        raise InvalidRequest(errors)
    secret = secret or random.token_urlsafe(32)
    try:
        with transaction.atomic():
            source = CatalogSource.objects.create(
                name=name,
                kind=SourceKind.GIT,
                url=url,
                branch=branch,
                path=checks.normal_path(path),
                credential=credential,
                host_keys=host_keys.strip(),
                preview=preview,
                webhook_secret=secrets.encrypt(values={"secret": secret}),
            )
            source.teams.set(teams)
            changes = audit.diff({}, _audited(source, teams))
            changes["webhook_secret"] = [None, MASK]
            audit.record(action="catalog.source_created", actor=user, obj=source, changes=changes)
    except IntegrityError as exc:
        raise InvalidRequest({"name": [f"A source named {name} already exists."]}) from exc
    return source, secret


def update_source(
    *,
    user: AnyUser | None,
    source: CatalogSource,
    name: str = UNSET,
    url: str = UNSET,
    branch: str = UNSET,
    path: str = UNSET,
    credential: Credential | None = UNSET,
    host_keys: str = UNSET,
    preview: bool = UNSET,
    teams: Iterable[Team] = UNSET,
    kind: str = UNSET,
) -> CatalogSource:
    """Change what is given of a source's fields. A folder source's URL and kind are the
    server's: they are not changed here."""
    _check_user(user)
    given = {
        key: value
        for key, value in {
            "name": name,
            "url": url,
            "branch": branch,
            "path": path,
            "credential": credential,
            "host_keys": host_keys,
            "preview": preview,
            "teams": list(teams) if teams is not UNSET else UNSET,
        }.items()
        if value is not UNSET
    }
    with transaction.atomic():
        source = CatalogSource.objects.select_for_update().get(pk=source.pk)
        before_teams = list(source.teams.all())
        current = {field: getattr(source, field) for field in FIELDS if field != "teams"}
        values = {**current, "teams": before_teams, **given}
        errors = _errors(values, source=source)
        if kind is not UNSET and kind != source.kind:
            errors["kind"] = ["The kind is fixed once created."]
        if source.kind == SourceKind.FOLDER and values["url"] != source.url:
            errors["url"] = ["The catalogue folder's path is the server's GANGPLANK_CATALOG_DIR."]
        if errors:
            raise InvalidRequest(errors)
        if values["preview"] != source.preview and _sync_running(source):
            raise Conflict(
                f"A sync of {source.name} is running and reads whether it is a preview once: "
                "change that once it has ended."
            )
        before = _audited(source, before_teams)
        for field in FIELDS:
            if field != "teams":
                setattr(source, field, values[field])
        source.path, source.host_keys = checks.normal_path(source.path), source.host_keys.strip()
        changes = audit.diff(before, _audited(source, values["teams"]))
        if source.commit and ("url" in changes or "branch" in changes):
            # Another repository's or branch's history: the next sync starts afresh, not
            # refused as a rewrite of the old one.
            changes["commit"] = [source.commit, None]
            source.commit = ""
        # Out of preview: the last sync's previews are released now, not at the next sync;
        # any other (a failed sync's) is dropped, and the next sync makes its commit live.
        if before["preview"] and not source.preview:
            if released := release_previews(source=source):
                changes["released"] = [None, released]
            if dropped := drop_previews(templates=Template.objects.filter(source=source)):
                changes["previews_dropped"] = [dropped, None]
        if changes:
            try:
                with transaction.atomic():
                    source.save()
            except IntegrityError as exc:
                raise InvalidRequest(
                    {"name": [f"A source named {source.name} already exists."]}
                ) from exc
            source.teams.set(values["teams"])
            audit.record(action="catalog.source_updated", actor=user, obj=source, changes=changes)
    return source


def delete_source(*, user: AnyUser | None, source: CatalogSource) -> None:
    """Delete a git source. Its templates are retired (never deleted: their services keep
    running); their versions keep the commit, author, date and path they were read at. Its
    unpromoted preview versions are dropped: a template that had only one is then seen by
    platform engineers alone (a template of no source is never public for that reason)."""
    _check_user(user)
    if source.kind == SourceKind.FOLDER:
        raise Conflict(
            "The server's catalogue folder is read at every sync: empty GANGPLANK_CATALOG_DIR's "
            "folder to retire its templates instead."
        )
    with transaction.atomic():
        templates = Template.objects.filter(source=source)
        # Unpromoted previews go with their source: nothing decides their audience any more.
        dropped = drop_previews(templates=templates)
        retired = sorted(templates.filter(retired_at__isnull=True).values_list("slug", flat=True))
        templates.filter(retired_at__isnull=True).update(retired_at=timezone.now())
        changes: dict = {"url": [source.url, None]} if retired or dropped else {}
        if retired:
            changes["retired"] = [None, retired]
        if dropped:
            changes["previews_dropped"] = [dropped, None]
        audit.record(action="catalog.source_deleted", actor=user, obj=source, changes=changes)
        source.delete()


def rotate_secret(*, user: AnyUser | None, source: CatalogSource, secret: str = "") -> str:
    """A new webhook secret (`secret`, or one generated), returned here once: the forge's
    webhook must be given it, deliveries signed with the old one are refused from now on."""
    _check_user(user)
    if secret and (problem := checks.secret_problem(secret)):
        raise InvalidRequest({"secret": [problem]})
    secret = secret or random.token_urlsafe(32)
    with transaction.atomic():
        token = secrets.encrypt(values={"secret": secret})
        CatalogSource.objects.filter(pk=source.pk).update(webhook_secret=token)
        audit.record(
            action="catalog.source_secret_rotated",
            actor=user,
            obj=source,
            changes={"webhook_secret": [MASK, MASK]},
        )
    return secret


def promote_source(
    *, user: AnyUser | None, source: CatalogSource, commit: str = ""
) -> CatalogSource:
    """Make the preview versions a preview source's last sync wrote everyone's: each becomes
    its template's current version. The branch is not read; a `commit` named must be the
    source's synced one. Refused while a sync runs (it could publish a commit nobody saw)
    and before any sync. The source stays a preview channel for its next pushes."""
    _check_user(user)
    with transaction.atomic():
        now = timezone.now()
        claimed = CatalogSource.objects.filter(
            pk=source.pk, preview=True, sync_started_at__isnull=True
        ).exclude(commit="")
        if commit:
            claimed = claimed.filter(commit=commit)
        if not claimed.update(promoted_at=now):
            raise Conflict(_promotion_refusal(source=source, commit=commit))
        source = CatalogSource.objects.get(pk=source.pk)
        promoted = release_previews(source=source)
        source.save(update_fields=["previews"])
        audit.record(
            action="catalog.source_promoted",
            actor=user,
            obj=source,
            changes={
                "commit": [None, source.commit],
                "promoted_at": [None, now.isoformat()],
                "promoted": [None, promoted],
            },
        )
    return source


def release_previews(*, source: CatalogSource) -> dict[str, str]:
    """Make each preview version the source's last recorded sync wrote (`source.previews`)
    current, its template no longer retired (its manifest naming the template); returns the
    versions released by slug, and empties `source.previews` (the caller saves it). A
    preview left by a sync that failed or was overtaken is not released. Called inside the
    caller's transaction."""
    released = {}
    pending = (
        Template.objects.select_for_update(of=("self",))
        .filter(source=source, preview_version__in=source.previews)
        .select_related("current_version", "preview_version")
        .order_by("slug")
    )
    for template in pending:
        version = cast(TemplateVersion, template.preview_version)
        template.current_version, template.preview_version = version, None
        template.retired_at = None
        template.name = version.manifest.get("name", template.name)
        template.description = version.manifest.get("description", "")
        template.category = version.manifest.get("category", "")
        template.save()
        uses.link(template=template)  # the released version's only, from now on
        released[template.slug] = version.version
    source.previews = []
    return released


def drop_previews(*, templates: QuerySet[Template]) -> list[str]:
    """Drop the pending preview versions of `templates` (they keep their current version,
    and what it uses only); returns their slugs. Inside the caller's transaction."""
    pending = (
        templates.select_for_update(of=("self",))
        .filter(preview_version__isnull=False)
        .select_related("current_version")
        .order_by("slug")
    )
    dropped = []
    for template in pending:
        template.preview_version = None
        template.save(update_fields=["preview_version"])
        uses.link(template=template)
        dropped.append(template.slug)
    return dropped


def _sync_running(source: CatalogSource) -> bool:
    started = source.sync_started_at
    return started is not None and started > timezone.now() - STALE_CLAIM


def _promotion_refusal(*, source: CatalogSource, commit: str) -> str:
    current = CatalogSource.objects.filter(pk=source.pk).first()
    if current is None:
        return f"{source.name} no longer exists."
    if not current.preview:
        return f"{current.name} is not a preview source: its syncs already reach everyone."
    if current.sync_started_at is not None:
        return f"A sync of {current.name} is running: promote once it has ended."
    if not current.commit:
        return f"{current.name} was never synced: there is nothing to promote."
    return (
        f"{current.name} is at {current.commit[:12]}, not {commit[:12]}: promotion makes "
        "the synced commit's versions everyone's; reload it."
    )


def _check_user(user: AnyUser | None) -> None:
    if user is not None:
        permissions.check_model(user, CatalogSource)


def _errors(values: dict, *, source: CatalogSource | None) -> dict[str, list[str]]:
    if source is not None and source.kind == SourceKind.FOLDER:
        return _folder_errors(values, source=source)
    problems = {
        "name": checks.name_problem(values["name"]),
        "branch": checks.branch_problem(values["branch"]),
        "path": checks.path_problem(values["path"]),
        "host_keys": checks.host_keys_problem(values["host_keys"]),
        "url": checks.url_problem(values["url"]),
        "credential": _credential_problem(values["credential"], values["url"]),
    }
    if values["host_keys"].strip() and checks.transport(values["url"]) != "ssh":
        problems["host_keys"] = "Host keys pin an ssh server: the URL is not ssh."
    if values["teams"] and not values["preview"]:
        problems["teams"] = "Teams see a source's templates early only while it is in preview."
    others = CatalogSource.objects.all()
    if source is not None:
        others = others.exclude(pk=source.pk)
    if not problems["name"] and others.filter(name=values["name"]).exists():
        problems["name"] = f"A source named {values['name']} already exists."
    return {field: [message] for field, message in problems.items() if message}


def _folder_errors(values: dict, *, source: CatalogSource) -> dict[str, list[str]]:
    """The server's folder is the server's: only whether it is a preview, and for whom,
    change (the sync finds it by its name)."""
    fixed = ("name", "url", "branch", "path", "credential", "host_keys")
    errors = {
        field: ["The catalogue folder's source keeps its name and has no git settings."]
        for field in fixed
        if values[field] != getattr(source, field) and not (field == "path" and not values[field])
    }
    if values["teams"] and not values["preview"]:
        errors["teams"] = ["Teams see a source's templates early only while it is in preview."]
    return errors


def _credential_problem(credential: Credential | None, url: str) -> str | None:
    if credential is None:
        return None
    if credential.type not in CREDENTIAL_TYPES:
        return "Choose an ssh key, a token or a username and password."
    over_ssh = checks.transport(url) == "ssh"
    if over_ssh != (credential.type == CredentialType.SSH):
        return "An ssh key goes with an ssh URL, a token or password with http(s)."
    if credential.type != CredentialType.SSH:
        return checks.clear_text_problem(url)
    return None


def _audited(source: CatalogSource, teams: list[Team]) -> dict:
    return {
        "name": source.name,
        "kind": source.kind,
        "url": source.url,
        "branch": source.branch,
        "path": source.path,
        "credential": source.credential.name if source.credential else None,
        "host_keys": source.host_keys or None,
        "preview": source.preview,
        "teams": sorted(team.slug for team in teams) or None,
    }
