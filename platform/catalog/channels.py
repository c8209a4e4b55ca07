"""Channels: which version of a template a team gets, and who sees a preview.

A template's `current_version` is what everyone gets. A preview source's syncs write its
new versions as `preview_version` instead; the preview's audience (platform engineers and
the teams listed on the source) gets that one, until promotion makes it current. Every
request and upgrade asks `offered_version`, so the portal, the API and tasks agree.

A retired template takes no requests, except for its pending preview: a preview source that
offers a retired template again offers it to its audience only, and it stays retired for
everyone else until promotion brings it back (`takes_requests`).
"""

from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Value

from catalog.models import CatalogSource, Template, TemplateVersion
from core.types import AnyUser
from teams import permissions

Listing = CatalogSource.teams.through
# Of templates annotated by `with_preview_audience`: those the user may request a version of.
TAKES_REQUESTS = Q(retired_at__isnull=True) | Q(
    preview_version__isnull=False, in_preview_audience=True
)


def team_is_listed(*, template: Template, team_id: int | None) -> bool:
    """Whether the team is listed on the template's source (its preview's audience)."""
    if template.source_id is None or team_id is None:
        return False
    return Listing.objects.filter(catalogsource_id=template.source_id, team_id=team_id).exists()


def offered_version(
    *,
    template: Template,
    team_id: int | None,
    user: AnyUser | None = None,
    listed: bool | None = None,
) -> TemplateVersion | None:
    """The version `team_id`'s team gets when it requests or upgrades: the preview version
    when the template has one and the team is listed on its source (or the acting `user` is
    a platform engineer), else the current version. None: nothing is offered to that team.
    `listed`: whether the team is listed, when already known (`team_listed`), else asked."""
    if template.preview_version_id is not None and (
        (user is not None and permissions.is_platform_engineer(user))
        or (listed if listed is not None else team_is_listed(template=template, team_id=team_id))
    ):
        return template.preview_version
    return template.current_version


def team_listed() -> Exists:
    """Whether a service's team is listed on its template's source, as a subquery to annotate
    services with (`in_preview_audience`): their upgrade offers then cost no query each."""
    return Exists(
        Listing.objects.filter(
            catalogsource_id=OuterRef("template__source_id"), team_id=OuterRef("team_id")
        )
    )


def takes_requests(*, template: Template, version: TemplateVersion | None) -> bool:
    """Whether a request for `version` (the one offered to the requesting team) is taken: not
    for a retired template, unless it is the template's pending preview."""
    if version is None:
        return False
    return template.retired_at is None or version.pk == template.preview_version_id


def user_sees_preview(*, template: Template, user: AnyUser) -> bool:
    """Whether `user` is in the template's preview audience: a platform engineer, or a
    member of a team its source lists. A template annotated by `with_preview_audience`
    answers without a query."""
    if template.preview_version_id is None:
        return False
    annotated = getattr(template, "in_preview_audience", None)
    if annotated is not None:
        return bool(annotated)
    if permissions.is_platform_engineer(user):
        return True
    return (
        template.source_id is not None
        and Listing.objects.filter(
            catalogsource_id=template.source_id,
            team__memberships__user_id=user.pk or 0,
        ).exists()
    )


def with_preview_audience(templates: QuerySet[Template], *, user: AnyUser) -> QuerySet[Template]:
    """Templates annotated with `in_preview_audience` (a subquery, no extra query), their
    preview version and its source loaded."""
    templates = templates.select_related("preview_version__source")
    if permissions.is_platform_engineer(user):
        return templates.annotate(in_preview_audience=Value(True, output_field=BooleanField()))
    listed = Listing.objects.filter(
        catalogsource_id=OuterRef("source_id"),
        team__memberships__user_id=user.pk or 0,
    )
    return templates.annotate(in_preview_audience=Exists(listed))


def offered_to_user(*, template: Template, user: AnyUser) -> TemplateVersion | None:
    """The version a user is shown as the one they would get (the template page, the
    request form): the preview version for its audience, else the current version. The
    request itself is decided for the requesting team by `offered_version`."""
    if user_sees_preview(template=template, user=user):
        return template.preview_version
    return template.current_version
