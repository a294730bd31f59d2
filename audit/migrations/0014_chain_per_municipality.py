"""One audit chain per municipality (docs/SECURITY.md, "The audit log").

The single chain of before goes on as the platform chain: its entries keep their hashes
(so exported heads and earlier verifications stay valid) and are walked as one chain as
before; from now on only entries with no municipality extend it, and each municipality's
entries start a chain of their own at the genesis hash. Nothing in the append-only table
is updated: the new column comes with a default (the platform chain, id 1), which
PostgreSQL stores without rewriting a row or firing the append-only trigger."""

import django.db.models.deletion
import django.db.models.functions.comparison
from django.core.management.color import no_style
from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

GENESIS_HASH = "0" * 64


def platform_chain_from_the_single_chain(apps, schema_editor):  # type: ignore[no-untyped-def]
    head = apps.get_model("audit", "AuditChainHead").objects.filter(id=1).first()
    anchor = apps.get_model("audit", "AuditChainAnchor").objects.filter(id=1).first()
    chain_model = apps.get_model("audit", "AuditChain")
    newest = apps.get_model("audit", "AuditEntry").objects.order_by("-id").values_list("id", flat=True).first()
    chain_model.objects.create(
        id=1,
        tenant=None,
        last_hash=head.last_hash if head else GENESIS_HASH,
        last_entry_id=newest,
        start_hash=anchor.last_removed_hash if anchor else GENESIS_HASH,
        anchored_through_id=anchor.last_removed_id if anchor else None,
        removed=anchor.removed if anchor else 0,
    )
    connection = schema_editor.connection
    with connection.cursor() as cursor:  # the id was given: the next chain must not be given 1 again
        for statement in connection.ops.sequence_reset_sql(no_style(), [chain_model]):
            cursor.execute(statement)


def back_to_a_single_chain(apps, schema_editor):  # type: ignore[no-untyped-def]
    chain_model = apps.get_model("audit", "AuditChain")
    if chain_model.objects.filter(tenant__isnull=False, last_entry_id__isnull=False).exists():
        raise IrreversibleError("entries were written to municipalities' chains: they cannot join one chain again")
    platform = chain_model.objects.filter(tenant__isnull=True).first()
    if platform is not None:
        apps.get_model("audit", "AuditChainHead").objects.create(id=1, last_hash=platform.last_hash)
        if platform.anchored_through_id is not None:
            apps.get_model("audit", "AuditChainAnchor").objects.create(
                id=1,
                last_removed_hash=platform.start_hash,
                last_removed_id=platform.anchored_through_id,
                removed=platform.removed,
            )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_tenant_min_view_s"),
        ("audit", "0013_access_refused"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChain",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("last_hash", models.CharField(max_length=64)),
                ("last_entry_id", models.BigIntegerField(blank=True, null=True)),
                ("start_hash", models.CharField(max_length=64)),
                ("anchored_through_id", models.BigIntegerField(blank=True, null=True)),
                ("removed", models.PositiveBigIntegerField(default=0)),
                (
                    "tenant",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to="accounts.tenant"
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="auditchain",
            constraint=models.UniqueConstraint(
                django.db.models.functions.comparison.Coalesce("tenant", models.Value(0)),
                name="audit_one_chain_per_tenant",
            ),
        ),
        migrations.RunPython(platform_chain_from_the_single_chain, back_to_a_single_chain),
        migrations.AddField(
            model_name="auditentry",
            name="chain",
            field=models.ForeignKey(
                db_index=False, default=1, on_delete=django.db.models.deletion.PROTECT, to="audit.auditchain"
            ),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["chain", "id"], name="audit_audit_chain_i_cdebf8_idx"),
        ),
        migrations.DeleteModel(name="AuditChainAnchor"),
        migrations.DeleteModel(name="AuditChainHead"),
    ]
