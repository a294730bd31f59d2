"""One audit chain per municipality: each verifies alone, the single chain of before goes
on as the platform chain, and the worker's batches take one municipality's chain each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Tenant
from audit.models import AuditAction, AuditChain, AuditEntry
from audit.records import GENESIS_HASH, entry_digest, export_head, record, verify_chain, verify_heads
from nattillsyn import clock


@pytest.mark.django_db
def test_each_municipality_has_its_own_chain_and_the_platform_one(tmp_path: Path) -> None:
    north, south = Tenant.objects.create(name="Norr", slug="norr"), Tenant.objects.create(name="Söder", slug="soder")
    first_north = record(actor=None, action=AuditAction.CHECK_DUE, tenant=north)
    first_south = record(actor=None, action=AuditAction.CHECK_DUE, tenant=south.id)
    platform = record(actor=None, action=AuditAction.LOGIN_FAILED)
    second_north = record(actor=None, action=AuditAction.CHECK_DUE, tenant=north)
    # Each chain starts at the genesis hash and follows only its own entries.
    assert first_north.prev_hash == first_south.prev_hash == platform.prev_hash == GENESIS_HASH
    assert second_north.prev_hash == first_north.entry_hash
    assert {chain.tenant_id for chain in AuditChain.objects.all()} == {north.id, south.id, None}
    assert AuditChain.objects.get(tenant=north).last_entry_id == second_north.id
    assert verify_chain() == (4, [])

    heads = tmp_path / "heads.jsonl"
    line = export_head(str(heads), clock.now())
    assert line is not None
    assert {(head["tenant"], head["entry_id"]) for head in line["heads"]} == {
        (north.id, second_north.id),
        (south.id, first_south.id),
        (None, platform.id),
    }
    assert verify_heads(str(heads)) == (1, [])


@pytest.mark.django_db
def test_an_entry_moved_to_another_municipalitys_chain_is_found() -> None:
    north, south = Tenant.objects.create(name="Norr", slug="norr"), Tenant.objects.create(name="Söder", slug="soder")
    entries = [record(actor=None, action=AuditAction.CHECK_DUE, tenant=north, detail={"n": n}) for n in range(3)]
    record(actor=None, action=AuditAction.CHECK_DUE, tenant=south)
    south_chain = AuditChain.objects.get(tenant=south)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_append_only")
        cursor.execute("UPDATE audit_auditentry SET chain_id = %s WHERE id = %s", [south_chain.id, entries[1].id])
    problems = verify_chain()[1]
    assert any(f"entry {entries[1].id}" in problem and "another municipality" in problem for problem in problems)
    assert any(f"entry {entries[2].id}" in problem and "does not follow" in problem for problem in problems)


@pytest.mark.django_db
def test_retention_shortens_each_chain_and_audits_it_there() -> None:
    from datetime import timedelta

    from audit.records import enforce_retention

    now = clock.now()
    north = Tenant.objects.create(name="Norr", slug="norr")
    for tenant in (north, None):
        for age in (2000, 2000, 10):
            record(actor=None, action=AuditAction.CHECK_DUE, tenant=tenant, at=now - timedelta(days=age))
    assert enforce_retention(now, days=1826) == 4
    assert verify_chain() == (4, [])  # one kept and the retention's entry, in each chain
    assert AuditEntry.objects.filter(action=AuditAction.AUDIT_RETENTION, tenant=north, detail__removed=2).exists()
    assert AuditEntry.objects.filter(action=AuditAction.AUDIT_RETENTION, tenant=None, detail__removed=2).exists()
    assert sorted(AuditChain.objects.values_list("removed", flat=True)) == [2, 2]


@pytest.mark.django_db(transaction=True)
def test_the_single_chain_of_before_goes_on_as_the_platform_chain(tmp_path: Path) -> None:
    """Migration 0014 on a log written as one chain: the old entries keep their hashes and
    verify as the platform chain, with an anchor left by retention and the heads exported
    before; new entries of a municipality start its own chain."""
    # Municipalities as they were then too: later columns have no default in the old state.
    before = [("audit", "0013_access_refused"), ("accounts", "0005_tenant_min_view_s")]
    after = [("audit", "0014_chain_per_municipality")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        entry_model, head_model = old.get_model("audit", "AuditEntry"), old.get_model("audit", "AuditChainHead")
        tenant = old.get_model("accounts", "Tenant").objects.create(name="Norr", slug="norr")
        # As the single chain was written: every entry after the one before, whatever its municipality;
        # the chain starts at an anchor, as after retention.
        anchor_hash = "a" * 64
        prev_hash = anchor_hash
        for tenant_id in (tenant.id, None, tenant.id):
            entry = entry_model(
                at=clock.now(), tenant_id=tenant_id, action=AuditAction.CHECK_DUE, detail={}, prev_hash=prev_hash
            )
            entry.entry_hash = entry_digest(entry, prev_hash)  # type: ignore[arg-type]
            entry.save()
            prev_hash = entry.entry_hash
        head_model.objects.update_or_create(id=1, defaults={"last_hash": prev_hash})
        old.get_model("audit", "AuditChainAnchor").objects.update_or_create(
            id=1, defaults={"last_removed_hash": anchor_hash, "last_removed_id": entry.id - 3, "removed": 7}
        )
        heads = tmp_path / "heads.jsonl"
        old_line = {"exported_at": clock.now().isoformat(), "entry_id": entry.id, "entry_hash": prev_hash}
        from audit.records import _head_mac

        heads.write_text(json.dumps(dict(old_line, mac=_head_mac(old_line))) + "\n")

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        platform = AuditChain.objects.get(tenant=None)
        assert (platform.last_hash, platform.last_entry_id) == (prev_hash, entry.id)
        assert (platform.start_hash, platform.removed) == (anchor_hash, 7)
        assert verify_chain() == (3, [])
        assert verify_heads(str(heads)) == (1, [])

        new = record(actor=None, action=AuditAction.CHECK_DUE, tenant=tenant.id)
        assert new.prev_hash == GENESIS_HASH and new.chain_id != platform.id
        assert record(actor=None, action=AuditAction.LOGIN_FAILED).prev_hash == prev_hash
        call_command("export_audit_head", to=str(heads))
        call_command("verify_audit_chain", heads=str(heads))
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
