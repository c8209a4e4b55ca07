from django.db.models import Q, QuerySet

from catalog.models import CatalogSync, Template
from core.types import AnyUser
from teams.models import Team

# Words of a search beyond these are ignored: each one is a clause of the query.
MAX_QUERY_WORDS = 10


def requestable_templates(*, user: AnyUser, query: str = "") -> QuerySet[Template]:
    """The templates one may request, by category and name; with `query`, those whose name,
    description or category holds each of its words (in any of them, in any case)."""
    templates = (
        Template.objects.restrict(user)
        .filter(current_version__isnull=False, retired_at__isnull=True)
        .select_related("current_version")
        .prefetch_related("credentials")
    )
    for word in query.split()[:MAX_QUERY_WORDS]:
        templates = templates.filter(
            Q(name__icontains=word) | Q(description__icontains=word) | Q(category__icontains=word)
        )
    return templates.order_by("category", "name")


def catalog_status(*, user: AnyUser) -> dict:
    templates = Template.objects.restrict(user).select_related("current_version")
    return {
        "broken": [t for t in templates if t.is_broken],
        "retired": [t for t in templates if t.retired_at],
        "templates": list(templates),
        "last_sync": CatalogSync.objects.first(),
    }


def team_names(*, slugs: set[str]) -> dict[str, str]:
    """Teams' names by slug (those that exist), to name who approves a template's requests."""
    if not slugs:
        return {}
    return dict(Team.objects.filter(slug__in=slugs).values_list("slug", "name"))
