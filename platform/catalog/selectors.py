from django.conf import settings
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.urls import reverse

from catalog import channels
from catalog.models import CatalogSource, CatalogSync, Template
from core.types import AnyUser
from teams.models import Team

# Words of a search beyond these are ignored: each one is a clause of the query.
MAX_QUERY_WORDS = 10


def requestable_templates(*, user: AnyUser, query: str = "") -> QuerySet[Template]:
    """The templates one may request (each annotated with `in_preview_audience`), by
    category and name; with `query`, those whose name,
    description or category holds each of its words (in any of them, in any case)."""
    offered = Q(current_version__isnull=False) | Q(preview_version__isnull=False)
    templates = channels.with_preview_audience(
        Template.objects.restrict(user)
        .filter(offered)
        .select_related("current_version")
        .prefetch_related("credentials"),
        user=user,
    ).filter(channels.TAKES_REQUESTS)
    for word in query.split()[:MAX_QUERY_WORDS]:
        templates = templates.filter(
            Q(name__icontains=word) | Q(description__icontains=word) | Q(category__icontains=word)
        )
    return templates.order_by("category", "name")


def catalog_status(*, user: AnyUser) -> dict:
    templates = Template.objects.restrict(user).select_related("current_version", "preview_version")
    return {
        "broken": [t for t in templates if t.is_broken],
        "retired": [t for t in templates if t.retired_at],
        "templates": list(templates),
        "last_sync": CatalogSync.objects.first(),
        "sources": list(sources_for(user=user, with_last_sync=True)),
    }


def sources_for(*, user: AnyUser, with_last_sync: bool = False) -> QuerySet[CatalogSource]:
    """The sources the user may see (platform engineers: all), each with its credential,
    teams and `template_count`; with `with_last_sync`, its latest sync in `latest_syncs`
    (a list of at most that one)."""
    sources = with_details(CatalogSource.objects.restrict(user))
    if with_last_sync:
        sources = sources.prefetch_related(
            Prefetch(
                "syncs",
                queryset=CatalogSync.objects.filter(
                    pk__in=Subquery(
                        CatalogSync.objects.filter(source=OuterRef("source"))
                        .order_by("-started_at")
                        .values("pk")[:1]
                    )
                ),
                to_attr="latest_syncs",
            )
        )
    return sources


def with_details(sources: QuerySet[CatalogSource]) -> QuerySet[CatalogSource]:
    """Sources with their credential, teams, `template_count` and `pending_previews` (its
    templates with a preview version not yet promoted), by name."""
    return (
        sources.select_related("credential")
        .prefetch_related("teams")
        .annotate(
            template_count=Count("templates", distinct=True),
            pending_previews=Count(
                "templates", filter=Q(templates__preview_version__isnull=False), distinct=True
            ),
        )
        .order_by("name")
    )


def webhook_url(*, source: CatalogSource) -> str:
    """Where the source's forge delivers its pushes (the portal's public address)."""
    path = reverse("api:catalog-source-webhook", kwargs={"pk": source.pk})
    return f"{settings.GANGPLANK_BASE_URL.rstrip('/')}{path}"


def team_names(*, slugs: set[str]) -> dict[str, str]:
    """Teams' names by slug (those that exist), to name who approves a template's requests."""
    if not slugs:
        return {}
    return dict(Team.objects.filter(slug__in=slugs).values_list("slug", "name"))
