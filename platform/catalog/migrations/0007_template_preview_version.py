import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_local_source_for_sourceless_templates"),
    ]

    operations = [
        migrations.AddField(
            model_name="template",
            name="preview_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.templateversion",
            ),
        ),
    ]
