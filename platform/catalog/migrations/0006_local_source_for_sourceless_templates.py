from django.conf import settings
from django.db import migrations

LOCAL_SOURCE = "local"  # catalog.services.LOCAL_SOURCE, as it is at this migration


def adopt_sourceless_rows(apps, schema_editor):
    """Templates, versions and syncs loaded before sources existed were read from the
    server's folder: they become the `local` source's (made as catalog.services.local_source
    makes it; its folder is read from settings at every sync anyway), so that no git source
    takes one of their slugs over."""
    CatalogSource = apps.get_model("catalog", "CatalogSource")
    models = [
        apps.get_model("catalog", name) for name in ("Template", "TemplateVersion", "CatalogSync")
    ]
    if not any(model.objects.filter(source__isnull=True).exists() for model in models):
        return
    local, _ = CatalogSource.objects.get_or_create(
        name=LOCAL_SOURCE,
        defaults={"kind": "folder", "url": str(settings.CATALOG_DIR), "branch": ""},
    )
    for model in models:
        model.objects.filter(source__isnull=True).update(source=local)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_webhookdelivery_unique_commit"),
    ]

    operations = [
        migrations.RunPython(adopt_sourceless_rows, migrations.RunPython.noop),
    ]
