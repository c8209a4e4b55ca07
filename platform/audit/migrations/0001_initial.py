# The audit trail moved out of `core` into its own app: the table `core_auditevent` and
# its rows stay as they are (only Django's state moves); the append-only trigger is
# re-created under the name pgtrigger derives from the new app label (core's 0002 drops
# the old one afterwards), and the content type follows the model.

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


def _relabel(apps, schema_editor, old: str, new: str) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(
        schema_editor.connection.alias
    )
    if not content_types.filter(app_label=new, model="auditevent").exists():
        content_types.filter(app_label=old, model="auditevent").update(app_label=new)


def to_audit(apps, schema_editor):
    _relabel(apps, schema_editor, "core", "audit")


def to_core(apps, schema_editor):
    _relabel(apps, schema_editor, "audit", "core")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("actor", models.CharField(blank=True, db_index=True, max_length=150)),
                        ("actor_id", models.BigIntegerField(blank=True, null=True)),
                        ("token", models.CharField(blank=True, max_length=30)),
                        ("address", models.GenericIPAddressField(blank=True, null=True)),
                        ("action", models.CharField(db_index=True, max_length=60)),
                        ("object_type", models.CharField(blank=True, max_length=60)),
                        ("object_id", models.CharField(blank=True, max_length=64)),
                        ("object_repr", models.CharField(blank=True, max_length=200)),
                        ("team_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
                        ("team", models.CharField(blank=True, max_length=50)),
                        ("changes", models.JSONField(blank=True, default=dict)),
                    ],
                    options={
                        "db_table": "core_auditevent",
                        "ordering": ["-at", "-pk"],
                        "indexes": [
                            models.Index(
                                fields=["object_type", "object_id"],
                                name="core_audite_object__bbabc4_idx",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="auditevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="7d41295784b2cabf939558622864f0322f5de193",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_audit_append_only_f6eda",
                    table="core_auditevent",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.RunPython(to_audit, to_core),
    ]
