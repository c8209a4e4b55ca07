from django.db.models import Q, QuerySet

from catalog.models import CatalogSync, Template
from core.types import AnyUser


def requestable_templates(*, user: AnyUser, query: str = "") -> QuerySet[Template]:
    templates = (
        Template.objects.restrict(user)
        .filter(current_version__isnull=False, retired_at__isnull=True)
        .select_related("current_version")
    )
    if query:
        templates = templates.filter(
            Q(name__icontains=query)
            | Q(description__icontains=query)
            | Q(category__icontains=query)
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
