"""The audit log is append-only and tamper-evident: change, delete or reorder is found."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.models import AuditAction, AuditEntry
from audit.records import record, verify_chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(db: None) -> list[AuditEntry]:
    return [record(actor=None, action=AuditAction.CHECK_DUE, detail={"n": n}) for n in range(5)]


def raw_sql(sql: str, params: list[object]) -> None:
    """Tampering goes around the ORM, as an attacker with database access would; on
    PostgreSQL one who owns the table and so can switch its append-only trigger off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks, so the table can be altered
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_append_only")
        cursor.execute(sql, params)


def test_an_untouched_chain_verifies(entries: list[AuditEntry]) -> None:
    assert verify_chain() == (5, [])
    call_command("verify_audit_chain")


def test_the_orm_refuses_to_change_or_delete_entries(entries: list[AuditEntry]) -> None:
    entry = entries[0]
    entry.detail = {"n": 99}
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(id=entry.id).update(detail={})
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


def test_it_detects_a_changed_entry(entries: list[AuditEntry]) -> None:
    raw_sql("UPDATE audit_auditentry SET detail = %s WHERE id = %s", ['{"n": 42}', entries[2].id])
    _count, problems = verify_chain()
    assert any(f"entry {entries[2].id}" in problem and "changed" in problem for problem in problems)
    with pytest.raises(CommandError):
        call_command("verify_audit_chain")


def test_it_detects_a_deleted_entry(entries: list[AuditEntry]) -> None:
    raw_sql("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].id])
    _count, problems = verify_chain()
    assert any(f"entry {entries[2].id}" in problem and "deleted or reordered" in problem for problem in problems)


def test_it_detects_a_deleted_newest_entry(entries: list[AuditEntry]) -> None:
    raw_sql("DELETE FROM audit_auditentry WHERE id = %s", [entries[-1].id])
    _count, problems = verify_chain()
    assert any("newest entries are missing" in problem for problem in problems)


def test_it_detects_reordered_entries(entries: list[AuditEntry]) -> None:
    # Swap the content (and hashes) of two entries: each is intact alone, the order is not.
    first, second = entries[1], entries[3]
    for target, source in ((first, second), (second, first)):
        raw_sql(
            "UPDATE audit_auditentry SET detail = %s, prev_hash = %s, entry_hash = %s WHERE id = %s",
            [f'{{"n": {source.detail["n"]}}}', source.prev_hash, "x" * 63 + str(target.id % 10), target.id],
        )
    for target, source in ((first, second), (second, first)):
        raw_sql("UPDATE audit_auditentry SET entry_hash = %s WHERE id = %s", [source.entry_hash, target.id])
    _count, problems = verify_chain()
    assert problems


def test_an_entry_written_with_a_local_time_verifies(db: None) -> None:
    from datetime import datetime

    from nattillsyn.clock import STOCKHOLM

    record(actor=None, action=AuditAction.CHECK_DUE, at=datetime(2026, 11, 23, 23, 0, tzinfo=STOCKHOLM))
    assert verify_chain()[1] == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_auditentry SET detail = '{}' WHERE id = %s", "DELETE FROM audit_auditentry WHERE id = %s"],
)
def test_the_database_refuses_to_change_or_delete_entries(entries: list[AuditEntry], statement: str) -> None:
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [entries[1].id])
    assert verify_chain() == (5, [])


def test_retention_removes_old_entries_and_the_rest_still_verifies(db: None) -> None:
    from datetime import timedelta

    from audit.models import AuditChain
    from audit.records import enforce_retention
    from nattillsyn import clock

    now = clock.now()
    old = [
        record(actor=None, action=AuditAction.CHECK_DUE, detail={"n": n}, at=now - timedelta(days=2000))
        for n in range(3)
    ]
    kept = [
        record(actor=None, action=AuditAction.CHECK_DUE, detail={"n": n}, at=now - timedelta(days=10)) for n in range(2)
    ]
    assert enforce_retention(now, days=1826) == 3
    assert not AuditEntry.objects.filter(id__in=[entry.id for entry in old]).exists()
    assert AuditEntry.objects.filter(id__in=[entry.id for entry in kept]).count() == 2
    assert AuditChain.objects.get(tenant=None).start_hash == old[-1].entry_hash
    count, problems = verify_chain()
    assert (count, problems) == (3, [])  # the two kept and the retention's own entry
    assert AuditEntry.objects.filter(action=AuditAction.AUDIT_RETENTION, detail__removed=3).exists()
    assert enforce_retention(now, days=1826) == 0  # nothing more is old enough


def test_tampering_after_retention_is_still_found(db: None) -> None:
    from datetime import timedelta

    from audit.records import enforce_retention
    from nattillsyn import clock

    now = clock.now()
    for n in range(3):
        record(actor=None, action=AuditAction.CHECK_DUE, detail={"n": n}, at=now - timedelta(days=2000))
    kept = [record(actor=None, action=AuditAction.CHECK_DUE, detail={"n": n}, at=now) for n in range(3)]
    enforce_retention(now, days=30)
    raw_sql("DELETE FROM audit_auditentry WHERE id = %s", [kept[0].id])  # the first kept one
    _count, problems = verify_chain()
    assert any("does not follow" in problem for problem in problems)


def test_exported_heads_reveal_a_rewritten_log(entries: list[AuditEntry], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from audit.records import export_head, verify_heads
    from nattillsyn import clock

    heads = tmp_path / "heads.jsonl"
    export_head(str(heads), clock.now())
    record(actor=None, action=AuditAction.CHECK_DUE, detail={"n": 5})
    export_head(str(heads), clock.now())
    assert len(heads.read_text().splitlines()) == 2  # appended, never rewritten
    assert verify_heads(str(heads)) == (2, [])
    call_command("verify_audit_chain", heads=str(heads))

    # Someone with the chain key rewrites the log from entry 3 on: the chain verifies…
    from audit.models import AuditChain
    from audit.records import entry_digest

    prev_hash = entries[2].prev_hash
    for entry in AuditEntry.objects.filter(id__gte=entries[2].id).order_by("id"):
        entry.detail = {"n": "rewritten"}
        new_hash = entry_digest(entry, prev_hash)
        raw_sql(
            "UPDATE audit_auditentry SET detail = %s, prev_hash = %s, entry_hash = %s WHERE id = %s",
            ['{"n": "rewritten"}', prev_hash, new_hash, entry.id],
        )
        prev_hash = new_hash
    AuditChain.objects.filter(tenant=None).update(last_hash=prev_hash)
    assert verify_chain()[1] == []
    # …but not against the heads exported before.
    _count, problems = verify_heads(str(heads))
    assert len(problems) == 2 and all("rewritten" in problem for problem in problems)
    with pytest.raises(CommandError):
        call_command("verify_audit_chain", heads=str(heads))


def test_an_altered_head_line_is_found(entries: list[AuditEntry], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from audit.records import export_head, verify_heads
    from nattillsyn import clock

    heads = tmp_path / "heads.jsonl"
    export_head(str(heads), clock.now())
    heads.write_text(heads.read_text().replace(f'"entry_id": {entries[-1].id}', f'"entry_id": {entries[0].id}'))
    assert "MAC" in verify_heads(str(heads))[1][0]


def test_the_worker_exports_the_head_hourly_when_told_where(entries: list[AuditEntry], tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from checks.engine import NightWorker
    from nattillsyn import clock

    heads = tmp_path / "heads.jsonl"
    settings.AUDIT_HEAD_EXPORT_PATH = str(heads)
    worker = NightWorker("t")
    now = clock.now()
    assert worker.export_audit_head(now) == 1
    assert worker.export_audit_head(now + timedelta(minutes=59)) == 0
    assert worker.export_audit_head(now + timedelta(minutes=61)) == 1
    assert len(heads.read_text().splitlines()) == 2
