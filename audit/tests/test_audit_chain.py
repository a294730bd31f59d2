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
    """Tampering goes around the ORM, as an attacker with database access would."""
    with connection.cursor() as cursor:
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
