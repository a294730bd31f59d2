"""Writing to the audit log. Called inside the transaction of the change it records."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from audit.models import AuditAction, AuditChainAnchor, AuditChainHead, AuditEntry
from nattillsyn import clock

GENESIS_HASH = "0" * 64


def entry_digest(entry: AuditEntry, prev_hash: str) -> str:
    content = {
        # UTC, as the database gives it back: a digest of a local time would not verify.
        "at": entry.at.astimezone(UTC).isoformat(),
        "tenant": entry.tenant_id,
        "actor": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "person": entry.person_id,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "duration_s": entry.duration_s,
        "ip": entry.ip,
        "detail": entry.detail,
    }
    message = prev_hash + json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def record(
    *,
    actor: Any,
    action: str,
    tenant: Any = None,
    person: Any = None,
    obj: Any = None,
    duration_s: float | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    at: Any = None,
) -> AuditEntry:
    """Append one entry. Joins the caller's transaction, so the entry and the change
    it records are committed together or not at all."""
    with transaction.atomic():
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"last_hash": GENESIS_HASH}
        )
        actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
        entry = AuditEntry(
            at=at or clock.now(),
            tenant_id=getattr(tenant, "id", tenant),
            actor=actor_obj,
            actor_name=actor_obj.get_username() if actor_obj else "",
            action=action,
            person_id=getattr(person, "id", person),
            object_type=type(obj).__name__ if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            duration_s=duration_s,
            ip=ip,
            detail=detail or {},
            prev_hash=head.last_hash,
        )
        entry.entry_hash = entry_digest(entry, head.last_hash)
        entry.save()
        head.last_hash = entry.entry_hash
        head.save(update_fields=["last_hash"])
        return entry


def verify_chain() -> tuple[int, list[str]]:
    """Walk the log in order; return the number of entries and the problems found.

    The chain starts at the genesis hash, or, once retention removed the oldest entries,
    at the hash of the last one removed (AuditChainAnchor)."""
    problems: list[str] = []
    anchor = AuditChainAnchor.objects.filter(id=1).first()
    prev_hash = anchor.last_removed_hash if anchor else GENESIS_HASH
    entries = AuditEntry.objects.order_by("id")
    if anchor is not None and entries.filter(id__lte=anchor.last_removed_id).exists():
        problems.append("entries older than the retention anchor are still there")
    count = 0
    for entry in entries.iterator(chunk_size=2000):
        count += 1
        if entry.prev_hash != prev_hash:
            problems.append(f"entry {entry.id}: does not follow the entry before it (deleted or reordered)")
        if entry_digest(entry, entry.prev_hash) != entry.entry_hash:
            problems.append(f"entry {entry.id}: content does not match its hash (changed)")
        prev_hash = entry.entry_hash
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and head.last_hash != prev_hash:
        problems.append("the newest entries are missing (chain head does not match)")
    return count, problems


def enforce_retention(now: datetime, *, days: int | None = None) -> int:
    """Remove the entries older than the retention period; returns how many.

    Only a prefix of the chain is removed (every entry before the first one to keep),
    so the rest still verifies: the last removed entry's hash becomes the chain's anchor.
    On PostgreSQL the append-only trigger lets this transaction, and only it, delete.
    The removal is itself audited.
    """
    cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS if days is None else days)
    with transaction.atomic():
        AuditChainHead.objects.select_for_update().get_or_create(id=1, defaults={"last_hash": GENESIS_HASH})
        first_kept = AuditEntry.objects.filter(at__gte=cutoff).order_by("id").values_list("id", flat=True).first()
        expired = AuditEntry.objects.order_by("id")
        if first_kept is not None:
            expired = expired.filter(id__lt=first_kept)
        last = expired.values_list("id", "entry_hash").last()
        if last is None:
            return 0
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL nattillsyn.audit_retention = 'on'")
        with connection.cursor() as cursor:  # around the ORM's append-only guard, on purpose
            cursor.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id <= %s", [last[0]])
            removed = cursor.rowcount
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL nattillsyn.audit_retention = 'off'")
        anchor, _created = AuditChainAnchor.objects.get_or_create(
            id=1, defaults={"last_removed_hash": last[1], "last_removed_id": last[0]}
        )
        anchor.last_removed_hash, anchor.last_removed_id = last[1], last[0]
        anchor.removed += removed
        anchor.save()
        record(
            actor=None,
            action=AuditAction.AUDIT_RETENTION,
            detail={"removed": removed, "older_than": cutoff.isoformat(), "through_entry": last[0]},
            at=now,
        )
    return removed


def _head_mac(line: dict[str, Any]) -> str:
    message = json.dumps({k: v for k, v in line.items() if k != "mac"}, sort_keys=True, separators=(",", ":"))
    return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), b"head:" + message.encode(), hashlib.sha256).hexdigest()


def export_head(path: str, now: datetime) -> dict[str, Any] | None:
    """Append the chain's newest entry (id, hash, time) as one line to ``path``.

    The file is only ever opened for appending and synced to disk. Kept somewhere the
    database's owner cannot rewrite (another host, WORM storage, an object store with
    object lock), the lines prove what the chain's head was at each export: rewriting
    the log from some point on, even with the chain key, no longer matches them
    (``verify_audit_chain --heads``).
    """
    newest = AuditEntry.objects.order_by("-id").values_list("id", "entry_hash").first()
    if newest is None:
        return None
    line: dict[str, Any] = {
        "exported_at": now.astimezone(UTC).isoformat(),
        "entry_id": newest[0],
        "entry_hash": newest[1],
    }
    line["mac"] = _head_mac(line)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (json.dumps(line, sort_keys=True) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return line


def verify_heads(path: str) -> tuple[int, list[str]]:
    """Check every exported head against the log: its entry is still there with the same hash."""
    problems: list[str] = []
    anchor = AuditChainAnchor.objects.filter(id=1).first()
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    for number, text in enumerate(lines, start=1):
        try:
            line = json.loads(text)
            entry_id, entry_hash = int(line["entry_id"]), str(line["entry_hash"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"head {number}: not a head line")
            continue
        if not hmac.compare_digest(str(line.get("mac", "")), _head_mac(line)):
            problems.append(f"head {number}: its MAC does not match (the export was altered)")
            continue
        if anchor is not None and entry_id <= anchor.last_removed_id:
            continue  # removed by retention, as it should be
        stored = AuditEntry.objects.filter(id=entry_id).values_list("entry_hash", flat=True).first()
        if stored is None:
            problems.append(f"head {number}: entry {entry_id} is gone")
        elif stored != entry_hash:
            problems.append(f"head {number}: entry {entry_id} has another hash now (the log was rewritten)")
    return len(lines), problems
